/**
 * Applies pending migrations over any {@link Database} (node-postgres, or Neon HTTP from a
 * Worker: the migrations are compiled into a module, nothing is read from disk).
 *
 * Each migration runs in its own transaction that first takes an advisory lock, then records
 * the migration, then runs its statements. Two runners at once: the second waits for the lock,
 * its insert hits the recorded id (unique violation), its transaction rolls back and it moves
 * on. So running twice, or from two processes, applies everything exactly once.
 * @module
 */
import { DatabaseError, SqlState, type Database } from '../database.ts';
import { SchemaError } from '../errors.ts';
import { DEFAULT_SCHEMA } from '../schema-name.ts';
import { migrationStatements } from '../sql/migration-statements.ts';
import { migrations as compiled } from './compiled.ts';
import type { Migration } from './migration.ts';

export interface MigrateOptions {
  /** Schema holding the tables (default: task_worker). */
  schema?: string;
  /** Migrations to apply (default: the ones shipped in migrations/). */
  migrations?: readonly Migration[];
}

export interface MigrateResult {
  /** Ids applied by this call (empty when the schema was up to date). */
  applied: number[];
  /** Highest id now applied. */
  version: number;
}

/** The highest migration id this library ships. */
export const LATEST_MIGRATION = compiled.at(-1)?.id ?? 0;

async function appliedIds(db: Database, schema: string): Promise<number[]> {
  const sql = migrationStatements(schema);
  const [, , , list] = await db.transaction([
    { text: sql.migrationLock, params: [schema] },
    { text: sql.migrationSchemaCreate },
    { text: sql.migrationTableCreate },
    { text: sql.migrationList },
  ]);
  return (list?.rows ?? []).map((row) => Number(row.id));
}

/**
 * Applies every pending migration.
 * @throws SchemaError `SCHEMA_TOO_NEW` when the database has migrations this version does not
 *   know (a newer library migrated it; upgrade before running this one), `MIGRATION_FAILED`
 *   when a statement fails (that migration is rolled back entirely).
 */
export async function migrate(db: Database, options: MigrateOptions = {}): Promise<MigrateResult> {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const list = options.migrations ?? compiled;
  const sql = migrationStatements(schema);
  const done = new Set(await appliedIds(db, schema));
  const latest = list.at(-1)?.id ?? 0;
  const unknown = [...done].filter((id) => id > latest);
  if (unknown.length > 0) {
    throw new SchemaError(
      'SCHEMA_TOO_NEW',
      `Schema "${schema}" has migration ${Math.max(...unknown)}, but this version of edge-task-worker knows up to ${latest}. Upgrade edge-task-worker.`,
    );
  }
  const applied: number[] = [];
  for (const migration of list) {
    if (done.has(migration.id)) continue;
    try {
      await db.transaction([
        { text: sql.migrationLock, params: [schema] },
        { text: sql.migrationInsert, params: [migration.id, migration.name] },
        ...migration.statements.map((statement) => ({ text: sql.bind(statement) })),
      ]);
      applied.push(migration.id);
    } catch (error) {
      const dbError = DatabaseError.from(error);
      if (dbError.code === SqlState.uniqueViolation && dbError.table === 'migrations') continue;
      throw new SchemaError(
        'MIGRATION_FAILED',
        `Migration ${migration.id} (${migration.name}) failed in schema "${schema}": ${dbError.message}`,
        { cause: error },
      );
    }
  }
  return { applied, version: Math.max(latest, ...done) };
}

/**
 * Checks that the schema is migrated to what this version expects, without changing it.
 * Workers call this at start so they never run against a missing or newer schema.
 */
export async function schemaVersion(db: Database, schema: string = DEFAULT_SCHEMA): Promise<number> {
  const sql = migrationStatements(schema);
  try {
    const { rows } = await db.query(sql.migrationList);
    return rows.reduce((max, row) => Math.max(max, Number(row.id)), 0);
  } catch (error) {
    if (DatabaseError.from(error).code === SqlState.undefinedTable) return 0;
    throw error;
  }
}

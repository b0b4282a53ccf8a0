/**
 * Applies pending migrations over any {@link Database} (node-postgres, or Neon HTTP from a
 * Worker: the migrations are compiled into a module, nothing is read from disk).
 *
 * Each migration runs in its own transaction that first takes an advisory lock, then records
 * the migration, then runs its statements. Two runners at once: the second waits for the lock,
 * its insert hits the recorded id (unique violation), its transaction rolls back and it moves
 * on. So running twice, or from two processes, applies everything exactly once. A migration
 * marked `-- migration: no-transaction` runs its statements one by one under a lease instead
 * (no-transaction.ts), and is recorded once they all succeeded.
 * @module
 */
import { DatabaseError, SqlState, type Database } from '../database.ts';
import { SchemaError } from '../errors.ts';
import { DEFAULT_SCHEMA } from '../schema-name.ts';
import { migrationStatements, type MigrationStatements } from '../sql/migration-statements.ts';
import { migrations as compiled } from './compiled.ts';
import type { AppliedMigration, Migration } from './migration.ts';
import { applyWithoutTransaction } from './no-transaction.ts';
import { appliedMigrations, firstBreakingAfter, schemaTooNew, versionOf } from './schema-compatibility.ts';

export { LATEST_MIGRATION, checkSchemaCompatible, type SchemaCompatibility } from './schema-compatibility.ts';

export interface MigrateOptions {
  /** Schema holding the tables (default: task_worker). */
  schema?: string;
  /** Migrations to apply (default: the ones shipped in migrations/). */
  migrations?: readonly Migration[];
}

export interface MigrateResult {
  /** Ids applied by this call (empty when the schema was up to date). */
  applied: number[];
  /** Highest id now applied (higher than the last migration given when a newer version migrated). */
  version: number;
}

/** Creates the schema and the migrations table if needed, and reads what was applied. */
async function prepare(db: Database, sql: MigrationStatements, schema: string): Promise<AppliedMigration[]> {
  await db.transaction([
    { text: sql.migrationLock, params: [schema] },
    { text: sql.migrationSchemaCreate },
    { text: sql.migrationTableCreate },
    { text: sql.migrationTableUpgrade },
  ]);
  return await appliedMigrations(db, schema);
}

/** Applies a migration in one transaction; false when another runner had recorded it. */
async function applyInTransaction(
  db: Database,
  sql: MigrationStatements,
  schema: string,
  migration: Migration,
) {
  try {
    await db.transaction([
      { text: sql.migrationLock, params: [schema] },
      { text: sql.migrationInsert, params: [migration.id, migration.name, migration.breaking ?? false] },
      ...migration.statements.map((statement) => ({ text: sql.bind(statement) })),
    ]);
    return true;
  } catch (error) {
    const dbError = DatabaseError.from(error);
    if (dbError.code === SqlState.uniqueViolation && dbError.table === 'migrations') return false;
    throw error;
  }
}

/**
 * Applies every pending migration. A schema a newer version migrated is fine as long as none
 * of the migrations this version does not know is breaking (nothing is applied then).
 * @throws SchemaError `SCHEMA_TOO_NEW` when the database has a breaking migration this
 *   version does not know (a newer library migrated it; upgrade before running this one),
 *   `MIGRATION_FAILED` when a statement fails (a migration in a transaction is rolled back
 *   entirely; a no-transaction one is retried from its first statement by the next run).
 */
export async function migrate(db: Database, options: MigrateOptions = {}): Promise<MigrateResult> {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const list = options.migrations ?? compiled;
  const sql = migrationStatements(schema);
  const recorded = await prepare(db, sql, schema);
  const latest = list.at(-1)?.id ?? 0;
  const breaking = firstBreakingAfter(recorded, latest);
  if (breaking) throw schemaTooNew(schema, versionOf(recorded), latest, breaking);
  const done = new Set(recorded.map((migration) => migration.id));
  const applied: number[] = [];
  for (const migration of list) {
    if (done.has(migration.id)) continue;
    try {
      const ran =
        migration.transaction === false
          ? await applyWithoutTransaction({ db, sql, schema, migration })
          : await applyInTransaction(db, sql, schema, migration);
      if (ran) applied.push(migration.id);
    } catch (error) {
      throw new SchemaError(
        'MIGRATION_FAILED',
        `Migration ${migration.id} (${migration.name}) failed in schema "${schema}": ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }
  return { applied, version: Math.max(latest, ...done) };
}

/**
 * The schema's version (its highest applied migration; 0 when not migrated), without changing
 * anything. Workers check more than this: see {@link checkSchemaCompatible}.
 */
export async function schemaVersion(db: Database, schema: string = DEFAULT_SCHEMA): Promise<number> {
  return versionOf(await appliedMigrations(db, schema));
}

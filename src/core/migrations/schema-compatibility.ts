/**
 * Which schema versions a worker (or a migration runner) of this version can work with.
 *
 * A migration is additive unless its file is marked `-- migration: breaking`, and the
 * `migrations` table records that flag with each applied migration. So a worker whose latest
 * migration is N, on a schema at M:
 * - M = N: runs;
 * - M > N: runs if none of the migrations N+1..M is breaking (a rolling deploy migrated the
 *   schema for the newer workers while the older ones still run), refuses otherwise
 *   (`SCHEMA_TOO_NEW`);
 * - M < N: refuses (`SCHEMA_TOO_OLD`): it may use what N adds; run `task-worker migrate`.
 * @module
 */
import { DatabaseError, SqlState, type Database } from '../database.ts';
import { SchemaError } from '../errors.ts';
import { DEFAULT_SCHEMA } from '../schema-name.ts';
import { migrationStatements } from '../sql/migration-statements.ts';
import { migrations as compiled } from './compiled.ts';
import type { AppliedMigration } from './migration.ts';

/** The highest migration id this library ships. */
export const LATEST_MIGRATION = compiled.at(-1)?.id ?? 0;

/** The rows of the `migrations` table, ascending by id; none when the schema has no such table. */
export async function appliedMigrations(db: Database, schema: string): Promise<AppliedMigration[]> {
  try {
    const { rows } = await db.query(migrationStatements(schema).migrationList);
    return rows.map((row) => ({
      id: Number(row.id),
      name: String(row.name),
      breaking: row.breaking === true,
    }));
  } catch (error) {
    if (DatabaseError.from(error).code === SqlState.undefinedTable) return [];
    throw error;
  }
}

/** The version of a schema: the highest applied migration id (0 when not migrated). */
export function versionOf(applied: readonly AppliedMigration[]): number {
  return applied.reduce((max, migration) => Math.max(max, migration.id), 0);
}

/** The first applied migration newer than `latest` that is breaking, if any. */
export function firstBreakingAfter(
  applied: readonly AppliedMigration[],
  latest: number,
): AppliedMigration | undefined {
  return applied.find((migration) => migration.id > latest && migration.breaking);
}

/** The error for a schema with a migration newer than `latest` that is breaking. */
export function schemaTooNew(schema: string, version: number, latest: number, breaking: AppliedMigration) {
  return new SchemaError(
    'SCHEMA_TOO_NEW',
    `Schema "${schema}" is at version ${version}, newer than this version of edge-task-worker (${latest}), and its migration ${breaking.id} (${breaking.name}) is breaking: upgrade edge-task-worker.`,
  );
}

export interface SchemaCompatibility {
  /** The schema's version. */
  version: number;
  /** The highest migration this library ships. */
  latest: number;
}

/**
 * Checks, without changing anything, that a worker of this version can run on the schema
 * (see the module comment for the rule).
 * @param latest the worker's latest migration (default: the one this library ships).
 * @throws SchemaError `SCHEMA_TOO_OLD` (run `task-worker migrate`), `SCHEMA_TOO_NEW` (a newer
 *   version applied a breaking migration: upgrade).
 */
export async function checkSchemaCompatible(
  db: Database,
  schema: string = DEFAULT_SCHEMA,
  latest: number = LATEST_MIGRATION,
): Promise<SchemaCompatibility> {
  const applied = await appliedMigrations(db, schema);
  const version = versionOf(applied);
  if (version < latest) {
    throw new SchemaError(
      'SCHEMA_TOO_OLD',
      `Schema "${schema}" is at version ${version}, this worker needs ${latest}: run \`task-worker migrate\`.`,
    );
  }
  const breaking = firstBreakingAfter(applied, latest);
  if (breaking) throw schemaTooNew(schema, version, latest, breaking);
  return { version, latest };
}

/**
 * SQL of the migration runner: the `migrations` table that records what was applied, and the
 * advisory lock that serialises concurrent runners.
 * @module
 */
import { quoteSchema } from '../schema-name.ts';

export interface MigrationStatements {
  /** Takes the transaction-scoped advisory lock of this schema ($1 = schema name). */
  readonly migrationLock: string;
  readonly migrationSchemaCreate: string;
  readonly migrationTableCreate: string;
  /** Ids of applied migrations, ascending. */
  readonly migrationList: string;
  /** Records one migration ($1 = id, $2 = name); a unique violation means it is already applied. */
  readonly migrationInsert: string;
  /** Replaces the `:"schema"` placeholder of a migration statement. */
  readonly bind: (statement: string) => string;
}

export function migrationStatements(schema: string): MigrationStatements {
  const quoted = quoteSchema(schema);
  return {
    migrationLock: `select pg_advisory_xact_lock(hashtext('edge-task-worker:migrate:' || $1::text))`,
    migrationSchemaCreate: `create schema if not exists ${quoted}`,
    migrationTableCreate: `create table if not exists ${quoted}.migrations (
  id int primary key,
  name text not null,
  applied_at timestamptz not null default now()
)`,
    migrationList: `select id, name from ${quoted}.migrations order by id`,
    migrationInsert: `insert into ${quoted}.migrations (id, name) values ($1, $2)`,
    bind: (statement) => statement.replaceAll(':"schema"', quoted),
  };
}

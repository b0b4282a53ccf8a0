/**
 * SQL of the migration runner: the `migrations` table that records what was applied (and
 * which of it is breaking for older workers), the advisory lock that serialises concurrent
 * runners, and the lease that stands in for that lock while a no-transaction migration runs
 * its statements one request at a time.
 * @module
 */
import { quoteSchema } from '../schema-name.ts';

export interface MigrationStatements {
  /** Takes the transaction-scoped advisory lock of this schema ($1 = schema name). */
  readonly migrationLock: string;
  readonly migrationSchemaCreate: string;
  readonly migrationTableCreate: string;
  /** Adds the `breaking` column to a table created before it existed (nothing afterwards). */
  readonly migrationTableUpgrade: string;
  /**
   * Applied migrations, ascending: `id`, `name`, `breaking`. Works on a table without the
   * `breaking` column too (a schema no runner of this version has touched yet): false then.
   */
  readonly migrationList: string;
  /**
   * Records one migration ($1 = id, $2 = name, $3 = breaking); a unique violation means it is
   * already applied.
   */
  readonly migrationInsert: string;
  /** The table of leases of no-transaction migrations being applied. */
  readonly migrationLeaseTableCreate: string;
  /**
   * Takes the lease of migration $1 for runner $2 for $3 seconds, unless the migration is
   * recorded or another runner's lease has not expired: a row when taken, none otherwise.
   */
  readonly migrationLeaseTake: string;
  /** Extends the lease of migration $1 held by runner $2 by $3 seconds; no row when it was lost. */
  readonly migrationLeaseRenew: string;
  /** Records migration $1 (name $2, breaking $3) if runner $4 still holds its lease. */
  readonly migrationInsertLeased: string;
  /** Gives up the lease of migration $1 held by runner $2. */
  readonly migrationLeaseRelease: string;
  /** Whether migration $1 is recorded (`recorded`). */
  readonly migrationRecorded: string;
  /**
   * Invalid indexes of the schema (`name`): left by a failed `create index concurrently`, and
   * not being built right now (no `create index`/`reindex` in progress on their table).
   */
  readonly migrationInvalidIndexes: string;
  /** Drops an index of the schema without blocking writes (an invalid one, before a retry). */
  readonly migrationIndexDrop: (name: string) => string;
  /** Replaces the `:"schema"` placeholder of a migration statement. */
  readonly bind: (statement: string) => string;
}

/** A SQL identifier in double quotes (for names read from the catalog). */
function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function migrationStatements(schema: string): MigrationStatements {
  const quoted = quoteSchema(schema);
  const leases = `${quoted}.migration_leases`;
  return {
    migrationLock: `select pg_advisory_xact_lock(hashtext('edge-task-worker:migrate:' || $1::text))`,
    migrationSchemaCreate: `create schema if not exists ${quoted}`,
    migrationTableCreate: `create table if not exists ${quoted}.migrations (
  id int primary key,
  name text not null,
  applied_at timestamptz not null default now(),
  breaking boolean not null default false
)`,
    // Altered only when the column is missing: ALTER needs ownership even when it would do nothing.
    migrationTableUpgrade: `do $$ begin
  if not exists (select 1 from pg_attribute
      where attrelid = '${quoted}.migrations'::regclass and attname = 'breaking' and not attisdropped) then
    alter table ${quoted}.migrations add column breaking boolean not null default false;
  end if;
end $$`,
    migrationList: `select id, name, coalesce((to_jsonb(m) ->> 'breaking')::boolean, false) as breaking
from ${quoted}.migrations m order by id`,
    migrationInsert: `insert into ${quoted}.migrations (id, name, breaking) values ($1, $2, $3)`,
    migrationLeaseTableCreate: `create table if not exists ${leases} (
  id int primary key,
  runner text not null,
  until timestamptz not null
)`,
    migrationLeaseTake: `insert into ${leases} as lease (id, runner, until)
select $1, $2, now() + make_interval(secs => $3)
where not exists (select 1 from ${quoted}.migrations where id = $1)
on conflict (id) do update set runner = excluded.runner, until = excluded.until
  where lease.until < now()
returning id`,
    migrationLeaseRenew: `update ${leases} set until = now() + make_interval(secs => $3)
where id = $1 and runner = $2
returning id`,
    migrationInsertLeased: `insert into ${quoted}.migrations (id, name, breaking)
select $1, $2, $3 where exists (select 1 from ${leases} where id = $1 and runner = $4)`,
    migrationLeaseRelease: `delete from ${leases} where id = $1 and runner = $2`,
    migrationRecorded: `select exists (select 1 from ${quoted}.migrations where id = $1) as recorded`,
    migrationInvalidIndexes: `select c.relname as name
from pg_index i
join pg_class c on c.oid = i.indexrelid
join pg_namespace n on n.oid = c.relnamespace
where n.nspname = $1 and not i.indisvalid
  and not exists (select 1 from pg_stat_progress_create_index p where p.relid = i.indrelid)
order by c.relname`,
    migrationIndexDrop: (name) => `drop index concurrently if exists ${quoted}.${quoteIdentifier(name)}`,
    bind: (statement) => statement.replaceAll(':"schema"', quoted),
  };
}

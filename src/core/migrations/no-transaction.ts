/**
 * Applies a migration marked `-- migration: no-transaction` (e.g. `create index concurrently`,
 * which Postgres refuses inside a transaction): its statements run one by one, each its own
 * query (its own request over Neon HTTP).
 *
 * The advisory lock of the other migrations lasts one transaction, and the Database port has
 * no session to hold it across statements (Neon HTTP has none at all). So the runner takes a
 * lease on the migration instead, in a row of `<schema>.migration_leases`, under that lock: the
 * lease lasts {@link LEASE_SECONDS} and is renewed while the statements run; other runners wait
 * until the migration is recorded, or take over once the lease has expired (its runner died).
 * Two `create index concurrently` at once on one table deadlock and leave an INVALID index
 * behind, which this prevents.
 *
 * A concurrent index build that fails or is interrupted leaves an INVALID index, which
 * `create index concurrently if not exists` would then skip. So before running the statements
 * the runner drops the schema's invalid indexes that nobody is building (`drop index
 * concurrently`), and after them it refuses to record the migration while one is left. The
 * statements must therefore be idempotent: a failed run is retried from the first statement.
 *
 * The lease is renewed by queries sent while a statement runs: a driver with a pool needs two
 * connections or more (Neon HTTP sends each as a request of its own).
 * @module
 */
import type { Database } from '../database.ts';
import type { MigrationStatements } from '../sql/migration-statements.ts';
import type { Migration } from './migration.ts';

/** Seconds a runner's lease lasts without renewal: how long a dead runner holds the others up. */
export const LEASE_SECONDS = 60;
/** How often a waiting runner looks again. */
const POLL_MS = 1000;

export interface NoTransactionRun {
  db: Database;
  sql: MigrationStatements;
  schema: string;
  migration: Migration;
}

/** Resolves true when this call applied the migration, false when another runner did. */
export async function applyWithoutTransaction(run: NoTransactionRun): Promise<boolean> {
  const { db, sql, schema, migration } = run;
  const runner = crypto.randomUUID();
  if (!(await takeLease(run, runner))) return false;
  const lease = keepLease(run, runner);
  try {
    await dropInvalidIndexes(db, sql, schema);
    for (const statement of migration.statements) await db.query(sql.bind(statement));
    const invalid = await invalidIndexes(db, sql, schema);
    if (invalid.length > 0) {
      throw new Error(
        `index ${invalid.join(', ')} is INVALID (a concurrent build failed); the next run drops and rebuilds it`,
      );
    }
    lease.stop();
    const [, recorded] = await db.transaction([
      { text: sql.migrationLock, params: [schema] },
      {
        text: sql.migrationInsertLeased,
        params: [migration.id, migration.name, migration.breaking ?? false, runner],
      },
      { text: sql.migrationLeaseRelease, params: [migration.id, runner] },
    ]);
    if (recorded?.rowCount !== 1) throw new Error(`its lease expired and another runner took it over`);
    return true;
  } catch (error) {
    lease.stop();
    // Free it at once, so the next run need not wait for it to expire.
    await db.query(sql.migrationLeaseRelease, [migration.id, runner]).catch(() => undefined);
    throw error;
  }
}

/** Waits for the lease of the migration; false when it was recorded meanwhile. */
async function takeLease({ db, sql, schema, migration }: NoTransactionRun, runner: string): Promise<boolean> {
  await db.transaction([
    { text: sql.migrationLock, params: [schema] },
    { text: sql.migrationLeaseTableCreate },
  ]);
  for (;;) {
    const [, taken, recorded] = await db.transaction([
      { text: sql.migrationLock, params: [schema] },
      { text: sql.migrationLeaseTake, params: [migration.id, runner, LEASE_SECONDS] },
      { text: sql.migrationRecorded, params: [migration.id] },
    ]);
    if (recorded?.rows[0]?.recorded === true) return false;
    if ((taken?.rows.length ?? 0) > 0) return true;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Renews the lease every quarter of its length until stopped; a failed renewal is retried next time. */
function keepLease({ db, sql, migration }: NoTransactionRun, runner: string): { stop(): void } {
  const timer = setInterval(
    () => {
      db.query(sql.migrationLeaseRenew, [migration.id, runner, LEASE_SECONDS]).catch(() => undefined);
    },
    (LEASE_SECONDS * 1000) / 4,
  );
  return { stop: () => clearInterval(timer) };
}

async function invalidIndexes(db: Database, sql: MigrationStatements, schema: string): Promise<string[]> {
  const { rows } = await db.query(sql.migrationInvalidIndexes, [schema]);
  return rows.map((row) => String(row.name));
}

async function dropInvalidIndexes(db: Database, sql: MigrationStatements, schema: string): Promise<void> {
  for (const name of await invalidIndexes(db, sql, schema)) await db.query(sql.migrationIndexDrop(name));
}

/**
 * Migrations for rolling deploys: a migration marked no-transaction (CREATE INDEX
 * CONCURRENTLY) over both drivers, from several runners at once, and after a runner died part
 * way; and which schemas a worker accepts: newer ones only when none of their newer
 * migrations is breaking, older ones never.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createPgDatabase } from '../src/adapters/node/pg-database.ts';
import type { Database } from '../src/core/database.ts';
import { migrations } from '../src/core/migrations/compiled.ts';
import { checkSchemaCompatible, LATEST_MIGRATION, migrate } from '../src/core/migrations/migrate.ts';
import type { Migration } from '../src/core/migrations/migration.ts';
import { driverCases } from './support/drivers.ts';
import { uniqueSchemaName } from './support/test-schema.ts';
import { startWorkerProcess } from './support/worker-process.ts';
import { migrationStatements } from '../src/core/sql/migration-statements.ts';
import { readMigrations } from '../scripts/compile-migrations.mjs';

const databaseUrl = inject('databaseUrl');
const db = createPgDatabase({ connectionString: databaseUrl, max: 6 });
const created: string[] = [];
function schemaFor(prefix: string): string {
  const schema = uniqueSchemaName(prefix);
  created.push(schema);
  return schema;
}
afterAll(async () => {
  for (const schema of created) await db.query(`drop schema if exists "${schema}" cascade`);
  await db.close();
});

const NEXT = LATEST_MIGRATION + 1;

/** A migration that builds an index without blocking writes: only possible outside a transaction. */
const concurrentIndex: Migration = {
  id: NEXT,
  name: 'tasks_name_index',
  transaction: false,
  statements: ['create index concurrently if not exists tasks_name_idx on :"schema".tasks (name)'],
};
const withConcurrentIndex = [...migrations, concurrentIndex];

async function indexState(
  schema: string,
  name: string,
): Promise<{ valid: boolean; unique: boolean } | undefined> {
  const { rows } = await db.query(
    `select i.indisvalid as valid, i.indisunique as unique
     from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = $1 and c.relname = $2`,
    [schema, name],
  );
  return rows[0] as { valid: boolean; unique: boolean } | undefined;
}

async function recorded(schema: string): Promise<Array<{ id: number; breaking: boolean }>> {
  const { rows } = await db.query(`select id, breaking from "${schema}".migrations order by id`);
  return rows as Array<{ id: number; breaking: boolean }>;
}

/** What a runner that is not this process left: its lease of the next migration, until `until`. */
async function leaseHeldBy(schema: string, runner: string, until: string): Promise<void> {
  await db.query(migrationStatements(schema).migrationLeaseTableCreate);
  await db.query(`insert into "${schema}".migration_leases values ($1, $2, now() + $3::interval)`, [
    NEXT,
    runner,
    until,
  ]);
}

async function leases(schema: string): Promise<unknown[]> {
  const { rows } = await db.query(`select * from "${schema}".migration_leases`);
  return rows;
}

/** Some tasks, so that an index build takes a moment. */
async function fillTasks(target: Database, schema: string, count: number): Promise<void> {
  await target.query(
    `insert into "${schema}".tasks (id, name) select lpad(g::text, 22, '0'), 'test.name_' || (g % 100) from generate_series(1, $1) g`,
    [count],
  );
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/task-worker.js', ...args], {
      env: { ...process.env, DATABASE_URL: databaseUrl },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.each(driverCases)('a no-transaction migration over $name', (driver) => {
  it('runs CREATE INDEX CONCURRENTLY outside a transaction and records it', async () => {
    const handle = await driver.open(databaseUrl);
    const schema = schemaFor('rollcic');
    try {
      await migrate(handle.db, { schema });
      await fillTasks(handle.db, schema, 1000);
      const result = await migrate(handle.db, { schema, migrations: withConcurrentIndex });
      expect(result).toEqual({ applied: [NEXT], version: NEXT });
      expect(await indexState(schema, 'tasks_name_idx')).toEqual({ valid: true, unique: false });
      expect(await recorded(schema)).toContainEqual({ id: NEXT, breaking: false });
      expect(await leases(schema)).toEqual([]);
      expect(await migrate(handle.db, { schema, migrations: withConcurrentIndex })).toEqual({
        applied: [],
        version: NEXT,
      });
    } finally {
      await handle.close();
    }
  });
});

describe('no-transaction migrations', () => {
  it('four runners at once: one builds the index, the others wait for it, none fails', async () => {
    const schema = schemaFor('rollpar');
    await migrate(db, { schema });
    // Enough rows that the build takes a while: two concurrent builds on one table deadlock.
    await fillTasks(db, schema, 200_000);
    const runners = Array.from({ length: 4 }, () =>
      createPgDatabase({ connectionString: databaseUrl, max: 2 }),
    );
    try {
      const results = await Promise.all(
        runners.map((runner) => migrate(runner, { schema, migrations: withConcurrentIndex })),
      );
      expect(results.flatMap((r) => r.applied)).toEqual([NEXT]);
      expect(await indexState(schema, 'tasks_name_idx')).toEqual({ valid: true, unique: false });
    } finally {
      await Promise.all(runners.map((runner) => runner.close()));
    }
  }, 60_000);

  it('after a runner died mid-build: the INVALID index is dropped and built again', async () => {
    const schema = schemaFor('rolldead');
    await migrate(db, { schema });
    await fillTasks(db, schema, 1000);
    // What a failed or killed concurrent build leaves: an INVALID index (here: a unique index on
    // duplicate names), and the dead runner's lease, expired.
    await expect(
      db.query(`create unique index concurrently tasks_name_idx on "${schema}".tasks (name)`),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await indexState(schema, 'tasks_name_idx')).toEqual({ valid: false, unique: true });
    await leaseHeldBy(schema, 'dead-runner', '-1 second');

    const result = await migrate(db, { schema, migrations: withConcurrentIndex });
    expect(result.applied).toEqual([NEXT]);
    // Built again, as the migration says (not unique), instead of skipped by IF NOT EXISTS.
    expect(await indexState(schema, 'tasks_name_idx')).toEqual({ valid: true, unique: false });
    expect(await leases(schema)).toEqual([]);
  });

  it('waits while another runner holds the lease, and skips the migration that runner recorded', async () => {
    const schema = schemaFor('rollwait');
    await migrate(db, { schema });
    await leaseHeldBy(schema, 'other-runner', '1 minute');
    let settled = false;
    const running = migrate(db, { schema, migrations: withConcurrentIndex }).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(settled).toBe(false);
    // The other runner finishes: records the migration and gives up its lease.
    await db.transaction([
      {
        text: `insert into "${schema}".migrations (id, name) values ($1, 'tasks_name_index')`,
        params: [NEXT],
      },
      { text: `delete from "${schema}".migration_leases where id = $1`, params: [NEXT] },
    ]);
    expect(await running).toEqual({ applied: [], version: NEXT });
    expect(await indexState(schema, 'tasks_name_idx')).toBeUndefined();
  });

  it('a failing statement: MIGRATION_FAILED, nothing recorded, the lease given back', async () => {
    const schema = schemaFor('rollfail');
    await migrate(db, { schema });
    const broken: Migration = {
      ...concurrentIndex,
      statements: ['create index concurrently on :"schema".nope (x)'],
    };
    await expect(migrate(db, { schema, migrations: [...migrations, broken] })).rejects.toMatchObject({
      code: 'MIGRATION_FAILED',
      message: expect.stringMatching(/Migration \d+ \(tasks_name_index\) failed.*nope/),
    });
    expect((await recorded(schema)).map((row) => row.id)).toEqual(migrations.map((m) => m.id));
    expect(await leases(schema)).toEqual([]);
  });
});

describe('migration markers', () => {
  it('"-- migration: no-transaction, breaking" before the first statement sets the flags', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etw-markers-'));
    try {
      await writeFile(join(dir, '0001_plain.sql'), 'create table :"schema".a (id int);\n');
      await writeFile(
        join(dir, '0002_index.sql'),
        '-- Builds an index without blocking writes.\n-- migration: no-transaction\n\ncreate index concurrently if not exists a_idx on :"schema".a (id);\n',
      );
      await writeFile(join(dir, '0003_drop.sql'), '--migration: breaking\ndrop table :"schema".a;\n');
      expect(readMigrations(dir)).toEqual([
        expect.objectContaining({ id: 1, transaction: true, breaking: false }),
        expect.objectContaining({ id: 2, transaction: false, breaking: false }),
        expect.objectContaining({ id: 3, transaction: true, breaking: true }),
      ]);
      await writeFile(join(dir, '0004_late.sql'), 'select 1;\n-- migration: breaking\nselect 2;\n');
      expect(() => readMigrations(dir)).toThrow(
        /0004_late\.sql: put "-- migration:" lines before the first statement/,
      );
      await writeFile(join(dir, '0004_late.sql'), '-- migration: no-lock\nselect 1;\n');
      expect(() => readMigrations(dir)).toThrow(/unknown marker "no-lock"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the shipped migrations carry the markers they need, and only those', () => {
    // 3, 6, 7, 9 and 11 build indexes concurrently; 4 adds the lease token older workers ignore.
    const outsideTransaction = new Set([3, 6, 7, 9, 11]);
    const breaking = new Set([4]);
    expect(migrations.map((m) => [m.id, m.transaction, m.breaking])).toEqual(
      migrations.map((m) => [m.id, !outsideTransaction.has(m.id), breaking.has(m.id)]),
    );
  });
});

describe('which schema a worker accepts', () => {
  const compatible: Migration = {
    id: NEXT,
    name: 'add_a_column',
    statements: ['alter table :"schema".tasks add column note text'],
  };
  const breaking: Migration = {
    id: NEXT + 1,
    name: 'rename_name',
    breaking: true,
    statements: ['alter table :"schema".tasks rename column name to task_name'],
  };

  it('a worker runs on a newer schema whose newer migrations are compatible, and refuses a breaking one', async () => {
    const schema = schemaFor('rollnew');
    await migrate(db, { schema, migrations: [...migrations, compatible] });
    expect(await checkSchemaCompatible(db, schema)).toEqual({ version: NEXT, latest: LATEST_MIGRATION });
    const worker = startWorkerProcess({
      databaseUrl,
      schema,
      args: ['--notifier', 'none', '--isolation', 'none'],
    });
    try {
      await worker.waitFor('worker_started');
    } finally {
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
    }
    // `task-worker migrate` of this version (or `run --migrate`) leaves such a schema alone.
    const older = await runCli(['migrate', '--schema', schema]);
    expect(older.code, older.stderr).toBe(0);
    expect(older.stdout).toContain(`is up to date (version ${NEXT})`);

    await migrate(db, { schema, migrations: [...migrations, compatible, breaking] });
    expect((await recorded(schema)).at(-1)).toEqual({ id: NEXT + 1, breaking: true });
    await expect(checkSchemaCompatible(db, schema)).rejects.toMatchObject({ code: 'SCHEMA_TOO_NEW' });
    const refused = startWorkerProcess({ databaseUrl, schema, args: ['--notifier', 'none'] });
    expect(await refused.exited).toBe(1);
    expect(refused.stderr()).toContain(
      `is at version ${NEXT + 1}, newer than this version of edge-task-worker (${LATEST_MIGRATION}), and its migration ${NEXT + 1} (rename_name) is breaking: upgrade edge-task-worker.`,
    );
    const migrateRefused = await runCli(['migrate', '--schema', schema]);
    expect(migrateRefused.code).toBe(1);
    expect(migrateRefused.stderr).toContain('is breaking: upgrade edge-task-worker');
  }, 30_000);

  it('a worker refuses an older schema: SCHEMA_TOO_OLD, run `task-worker migrate`', async () => {
    const schema = schemaFor('rollold');
    await migrate(db, { schema, migrations: migrations.slice(0, 1) });
    await expect(checkSchemaCompatible(db, schema)).rejects.toMatchObject({
      name: 'SchemaError',
      code: 'SCHEMA_TOO_OLD',
      message: `Schema "${schema}" is at version 1, this worker needs ${LATEST_MIGRATION}: run \`task-worker migrate\`.`,
    });
    const worker = startWorkerProcess({ databaseUrl, schema, args: ['--notifier', 'none'] });
    expect(await worker.exited).toBe(1);
    expect(worker.stderr()).toContain(
      `task-worker run: Schema "${schema}" is at version 1, this worker needs ${LATEST_MIGRATION}: run \`task-worker migrate\`.`,
    );
  }, 30_000);

  it('a migrations table from before the breaking flag: read as compatible, and upgraded by migrate', async () => {
    const schema = schemaFor('rollpre');
    await migrate(db, { schema });
    await db.query(`alter table "${schema}".migrations drop column breaking`);
    expect(await checkSchemaCompatible(db, schema)).toEqual({
      version: LATEST_MIGRATION,
      latest: LATEST_MIGRATION,
    });
    await db.query(`insert into "${schema}".migrations (id, name) values ($1, 'from_an_older_runner')`, [
      NEXT,
    ]);
    expect(await checkSchemaCompatible(db, schema)).toEqual({ version: NEXT, latest: LATEST_MIGRATION });
    expect(await migrate(db, { schema })).toEqual({ applied: [], version: NEXT });
    expect(await recorded(schema)).toContainEqual({ id: NEXT, breaking: false });
  });
});

/**
 * Migrations: applied once, safe twice and from two processes at once, over both drivers.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { migrate, schemaVersion } from '../src/core/migrations/migrate.ts';
import type { Migration } from '../src/core/migrations/migration.ts';
import { migrations } from '../src/core/migrations/compiled.ts';
import { createPgDatabase } from '../src/adapters/node/pg-database.ts';
import { driverCases } from './support/drivers.ts';
import { uniqueSchemaName } from './support/test-schema.ts';

const databaseUrl = inject('databaseUrl');
const db = createPgDatabase({ connectionString: databaseUrl, max: 4 });
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

async function tableNames(schema: string): Promise<string[]> {
  const { rows } = await db.query(
    `select table_name from information_schema.tables where table_schema = $1 order by table_name`,
    [schema],
  );
  return rows.map((row) => row.table_name as string);
}

describe.each(driverCases)('migrate over $name', (driver) => {
  it('creates the schema once and is idempotent', async () => {
    const handle = await driver.open(databaseUrl);
    const schema = schemaFor('mig');
    try {
      expect(await schemaVersion(handle.db, schema)).toBe(0);
      const first = await migrate(handle.db, { schema });
      expect(first.applied).toEqual(migrations.map((m) => m.id));
      const second = await migrate(handle.db, { schema });
      expect(second).toEqual({ applied: [], version: first.version });
      // migration_leases: the runner's leases for migrations outside a transaction (0003).
      expect(await tableNames(schema)).toEqual([
        'maintainer',
        'migration_leases',
        'migrations',
        'queue_limits',
        'schedules',
        'tasks',
      ]);
      expect(await schemaVersion(handle.db, schema)).toBe(first.version);
    } finally {
      await handle.close();
    }
  });
});

describe('migrate', () => {
  it('two `task-worker migrate` processes started together both exit 0 and apply the schema once', async () => {
    const schema = schemaFor('migcli');
    const [a, b] = await Promise.all([
      runCli(['migrate', '--schema', schema]),
      runCli(['migrate', '--schema', schema]),
    ]);
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
    // Transactional migrations run under one advisory lock; a no-transaction one (0003) under a
    // lease, so the second process may apply the later ones. Each migration is applied once.
    const applied = [a.stdout, b.stdout].flatMap((o) =>
      [...o.matchAll(/Applied migrations? ([\d, ]+) to schema/g)].flatMap((m) =>
        m[1]!.split(', ').map(Number),
      ),
    );
    expect(applied.sort((x, y) => x - y)).toEqual(migrations.map((m) => m.id));
    const { rows } = await db.query(`select id, name from "${schema}".migrations order by id`);
    expect(rows).toEqual(migrations.map((m) => ({ id: m.id, name: m.name })));
  });

  it('eight concurrent runners in one process apply each migration once', async () => {
    const schema = schemaFor('migpar');
    const results = await Promise.all(Array.from({ length: 8 }, () => migrate(db, { schema })));
    // Runners may split the work (0003 runs under a lease, outside the advisory lock), so the
    // lists come back in runner order; each migration must be applied exactly once.
    const applied = results.flatMap((r) => r.applied).sort((x, y) => x - y);
    expect(applied).toEqual(migrations.map((m) => m.id));
    const { rows } = await db.query(`select id from "${schema}".migrations order by id`);
    expect(rows.map((r) => r.id)).toEqual(migrations.map((m) => m.id));
  });

  it('rolls a failing migration back entirely and reports it', async () => {
    const schema = schemaFor('migbad');
    const broken: Migration[] = [
      ...migrations,
      {
        id: migrations.length + 1,
        name: 'broken',
        statements: ['create table :"schema".half (id int)', 'select nonsense('],
      },
    ];
    await expect(migrate(db, { schema, migrations: broken })).rejects.toMatchObject({
      code: 'MIGRATION_FAILED',
      message: expect.stringMatching(/Migration \d+ \(broken\) failed/),
    });
    expect(await tableNames(schema)).toEqual([
      'maintainer',
      'migration_leases',
      'migrations',
      'queue_limits',
      'schedules',
      'tasks',
    ]);
    expect(await schemaVersion(db, schema)).toBe(migrations.length);
  });

  it('refuses a schema a newer version migrated with a breaking migration', async () => {
    const schema = schemaFor('mignew');
    await migrate(db, { schema });
    await db.query(
      `insert into "${schema}".migrations (id, name, breaking) values (999, 'from_the_future', true)`,
    );
    await expect(migrate(db, { schema })).rejects.toMatchObject({ code: 'SCHEMA_TOO_NEW' });
  });

  it('a worker refuses an unmigrated schema or a breaking newer one, and exits without hanging on its threads', async () => {
    const bare = schemaFor('migworker');
    const run = (schema: string) =>
      runCli(['run', '--tasks', 'test/fixtures/tasks.ts', '--schema', schema, '--notifier', 'none']);
    const unmigrated = await run(bare);
    expect(unmigrated.code).not.toBe(0);
    expect(unmigrated.stderr).toMatch(/is at version 0, this worker needs \d+: run `task-worker migrate`/);

    const future = schemaFor('migworkernew');
    await migrate(db, { schema: future });
    await db.query(
      `insert into "${future}".migrations (id, name, breaking) values (999, 'from_the_future', true)`,
    );
    const newer = await run(future);
    expect(newer.code).not.toBe(0);
    expect(newer.stderr).toMatch(/newer than this version of edge-task-worker .* is breaking/);
  }, 30_000);

  it('the CLI explains a missing database and an unknown option', async () => {
    const missing = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/task-worker.js', 'migrate'], {
        env: { ...process.env, DATABASE_URL: '' },
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('pass --database-url or set DATABASE_URL');
    const unknown = await runCli(['migrate', '--nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--nope'");
  });
});

/**
 * A worker started while Postgres is down or still starting waits for it, with real
 * processes and a Postgres of this file's own (started late, stopped and started again; the
 * machine's Postgres is never touched): it logs each wait, runs tasks once the database is
 * there, exits 0 on a signal while waiting, and fails at once on a database that does not
 * exist. Also the start-up step itself (worker-startup.ts): waiting, aborting, and the
 * schema versions it accepts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createPgDatabase } from '../src/adapters/node/pg-database.ts';
import { migrations } from '../src/core/migrations/compiled.ts';
import { LATEST_MIGRATION, migrate } from '../src/core/migrations/migrate.ts';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { workerStatements } from '../src/core/sql/worker-statements.ts';
import { InProcessExecutor } from '../worker/container/in-process-executor.ts';
import { tasksModuleUrl } from '../worker/container/load-tasks.ts';
import type { Logger, LogFields } from '../worker/container/logger.ts';
import { startUp, type StartUpOptions } from '../worker/container/worker-startup.ts';
import { startDevPostgres, type DevPostgres } from '../worker/dev/embedded-postgres.ts';
import { freePort } from './support/services.ts';
import { uniqueSchemaName } from './support/test-schema.ts';
import { eventually, startWorkerProcess } from './support/worker-process.ts';

const machineUrl = inject('databaseUrl');
const machine = createPgDatabase({ connectionString: machineUrl, max: 2 });
const port = await freePort();
/** This file's own Postgres: not running until a test starts it. */
const lateUrl = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
const dataDir = await mkdtemp(join(tmpdir(), 'etw-startup-pg-'));
let postgres: DevPostgres | undefined;
const schemas: string[] = [];

afterAll(async () => {
  await postgres?.stop();
  await rm(dataDir, { recursive: true, force: true });
  for (const schema of schemas) await machine.query(`drop schema if exists "${schema}" cascade`);
  await machine.close();
});

function recordingLogger(): Logger & { lines: Array<{ event: string } & LogFields> } {
  const lines: Array<{ event: string } & LogFields> = [];
  return { lines, log: (_level, event, fields = {}) => lines.push({ event, ...fields }) };
}

/** The start-up step alone, with an in-process executor on the test tasks. */
function startUpOn(databaseUrl: string, schema: string, options: Partial<StartUpOptions> = {}) {
  const db = createPgDatabase({ connectionString: databaseUrl, max: 2 });
  const executor = new InProcessExecutor({ size: 1, tasksUrl: tasksModuleUrl('test/fixtures/tasks.ts') });
  let closed = 0;
  const started = startUp({
    db,
    sql: workerStatements(schema),
    schema,
    executor,
    close: async () => {
      closed++;
      await executor.close();
    },
    ...options,
  });
  return { db, started, closed: () => closed };
}

describe('a worker started before its database', () => {
  it('waits while Postgres is down and starting, logging each wait, then migrates and runs tasks', async () => {
    const worker = startWorkerProcess({
      databaseUrl: lateUrl,
      schema: 'task_worker',
      args: ['--migrate', '--notifier', 'none', '--poll-interval', '100'],
    });
    try {
      await worker.waitFor('database_unavailable', (line) => line.attempt === 2, 15_000);
      // initdb, then start: several seconds during which the worker keeps waiting.
      postgres = await startDevPostgres({ dataDir, port });
      await worker.waitFor('worker_started', undefined, 60_000);
      const db = createPgDatabase({ connectionString: lateUrl, max: 2 });
      try {
        const client = createTaskClient({ database: db, schema: 'task_worker' });
        const task = await client.createTask('test.multiply', { args: [6, 7] });
        const done = await eventually(async () => {
          const current = await client.getTask(task.id);
          return current?.status === 'COMPLETED' && current;
        });
        expect(done).toMatchObject({ status: 'COMPLETED', result: 42 });
      } finally {
        await db.close();
      }
    } finally {
      worker.child.kill('SIGTERM');
    }
    expect(await worker.exited).toBe(0);
    const events = worker.events.map((line) => line.event);
    const waits = worker.events.filter((line) => line.event === 'database_unavailable');
    expect(waits.length).toBeGreaterThanOrEqual(2);
    for (const [index, wait] of waits.entries()) {
      expect(wait).toMatchObject({ level: 'warn', attempt: index + 1, delayMs: expect.any(Number) });
      // Refused while nothing listened; "the database system is starting up" while it started.
      expect(['ECONNREFUSED', '57P03']).toContain(wait.code);
    }
    expect(waits[0]!.delayMs).toBeLessThanOrEqual(625);
    expect(worker.events.find((line) => line.event === 'database_available')).toMatchObject({
      attempts: waits.length + 1,
    });
    expect(events.indexOf('database_available')).toBeLessThan(events.indexOf('migrated'));
    expect(events.indexOf('migrated')).toBeLessThan(events.indexOf('worker_started'));
  }, 120_000);

  it('SIGTERM while it waits: exits 0 at once', async () => {
    await postgres?.stop();
    postgres = undefined;
    const worker = startWorkerProcess({
      databaseUrl: lateUrl,
      schema: 'task_worker',
      args: ['--notifier', 'none'],
    });
    await worker.waitFor('database_unavailable', undefined, 15_000);
    const signalled = Date.now();
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(3000);
    expect(worker.events.map((line) => line.event)).toEqual(
      expect.arrayContaining(['shutdown_requested', 'worker_not_started']),
    );
    expect(worker.events.map((line) => line.event)).not.toContain('worker_started');
  }, 30_000);

  it('a database that does not exist: exit 1 at once, with the reason, without waiting', async () => {
    const url = new URL(machineUrl);
    url.pathname = '/etw_no_such_database';
    const started = Date.now();
    const worker = startWorkerProcess({
      databaseUrl: url.toString(),
      schema: 'task_worker',
      args: ['--notifier', 'none'],
    });
    expect(await worker.exited).toBe(1);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(worker.stderr()).toMatch(
      /task-worker run: database "etw_no_such_database" does not exist \(3D000\): check the database name/,
    );
    expect(worker.events.map((line) => line.event)).not.toContain('database_unavailable');
  }, 30_000);

  it('task-worker migrate waits up to --wait-for-database seconds, then exits 1', async () => {
    const child = spawn(process.execPath, ['bin/task-worker.js', 'migrate', '--wait-for-database', '1'], {
      env: { ...process.env, DATABASE_URL: lateUrl },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('"event":"database_unavailable"');
    expect(stderr).toMatch(
      /task-worker migrate: The database was still unavailable after 1 s \(\d+ attempts\)/,
    );
  }, 30_000);
});

describe('startUp', () => {
  it('waits for a database that restarts, then loads the tasks', async () => {
    const logger = recordingLogger();
    const { db, started } = startUpOn(lateUrl, 'task_worker', { waitForDatabase: 120, logger });
    try {
      await eventually(async () => logger.lines.length >= 1, 15_000);
      postgres = await startDevPostgres({ dataDir, port });
      const { taskNames } = await started;
      expect(taskNames).toContain('test.multiply');
      expect(logger.lines[0]).toMatchObject({
        event: 'database_unavailable',
        attempt: 1,
        code: 'ECONNREFUSED',
      });
      expect(logger.lines.at(-1)).toMatchObject({ event: 'database_available' });
    } finally {
      await db.close();
    }
  }, 60_000);

  it('an abort ends the wait: it closes what it started and rejects with the reason', async () => {
    const closedPort = `postgres://postgres@127.0.0.1:${await freePort()}/test`;
    const controller = new AbortController();
    const logger = recordingLogger();
    const { db, started, closed } = startUpOn(closedPort, 'task_worker', {
      waitForDatabase: Infinity,
      signal: controller.signal,
      logger,
    });
    try {
      await eventually(async () => logger.lines.length >= 1, 15_000);
      const reason = new Error('stop');
      controller.abort(reason);
      await expect(started).rejects.toBe(reason);
      expect(closed()).toBe(1);
    } finally {
      await db.close();
    }
  });

  it('accepts a newer schema whose newer migrations are compatible, and says so', async () => {
    const schema = uniqueSchemaName('startnew');
    schemas.push(schema);
    const compatible = { id: LATEST_MIGRATION + 1, name: 'add_a_column', statements: ['select 1'] };
    await migrate(machine, { schema, migrations: [...migrations, compatible] });
    const logger = recordingLogger();
    const { db, started } = startUpOn(machineUrl, schema, { logger });
    try {
      await started;
      expect(logger.lines).toEqual([
        expect.objectContaining({
          event: 'schema_newer_compatible',
          version: LATEST_MIGRATION + 1,
          workerVersion: LATEST_MIGRATION,
        }),
      ]);
    } finally {
      await db.close();
    }
  });

  it('refuses an older schema with SCHEMA_TOO_OLD, and closes what it started', async () => {
    const schema = uniqueSchemaName('startold');
    schemas.push(schema);
    await migrate(machine, { schema, migrations: migrations.slice(0, 1) });
    const { db, started, closed } = startUpOn(machineUrl, schema);
    try {
      await expect(started).rejects.toMatchObject({ code: 'SCHEMA_TOO_OLD' });
      expect(closed()).toBe(1);
    } finally {
      await db.close();
    }
  });
});

/**
 * The client against a real Postgres, through both drivers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskClient, type TaskClient } from '../src/core/service/task-client.ts';
import { createClient } from '../client/create-client.ts';
import { InvalidTaskIdError, TaskNotFoundError } from '../src/core/errors.ts';
import { startNeonEndpoint, type NeonEndpoint } from '../worker/dev/neon-endpoint.ts';
import { countingDatabase, driverCases, neonConnectionString, type DriverHandle } from './support/drivers.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('client');

describe('createTask through the real neon() client', () => {
  let endpoint: NeonEndpoint;
  let client: TaskClient;
  beforeAll(async () => {
    endpoint = await startNeonEndpoint({ databaseUrl: t.databaseUrl, authToken: 'client-test-token' });
    client = createClient({
      databaseUrl: neonConnectionString(t.databaseUrl),
      neonFetchEndpoint: endpoint.url,
      neonAuthToken: endpoint.authToken,
      schema: t.schema,
    });
  });
  afterAll(async () => {
    await client.close();
    await endpoint.close();
  });

  it('stores every column as specified, read back through node-postgres', async () => {
    const before = Date.now();
    const runAt = new Date(Date.now() + 60_000);
    const task = await client.createTask('app.tasks.multiply_numbers', {
      args: [2, 3.5, 'x', null, { nested: [true] }],
      kwargs: { scale: 10, label: 'ünïcode ✓' },
      timeout: 42,
      queue: 'emails',
      priority: 5,
      runAt,
      maxRetries: 3,
      uniqueKey: 'multiply:2:3',
    });
    const { rows } = await t.db.query(`select * from ${t.schema}.tasks where id = $1`, [task.id]);
    const row = rows[0]!;
    expect(Object.keys(row).sort()).toEqual(
      [
        'args',
        'attempt',
        'concurrency_key',
        'concurrency_key_limit',
        'created_at',
        'dedup_key',
        'duration',
        'error',
        'error_history',
        'error_stack',
        'error_type',
        'finished_at',
        'flow_controlled',
        'id',
        'kwargs',
        'lease_token',
        'lease_until',
        'max_retries',
        'name',
        'priority',
        'progress',
        'queue',
        'result',
        'retry_count',
        'run_at',
        'schedule_fire_at',
        'schedule_name',
        'started_at',
        'status',
        'timeout',
        'trace_context',
        'unique_key',
        'unique_mode',
        'updated_at',
        'worker_id',
      ].sort(),
    );
    expect(row).toMatchObject({
      id: task.id,
      name: 'app.tasks.multiply_numbers',
      args: [2, 3.5, 'x', null, { nested: [true] }],
      kwargs: { scale: 10, label: 'ünïcode ✓' },
      queue: 'emails',
      priority: 5,
      status: 'PENDING',
      timeout: 42,
      retry_count: 0,
      max_retries: 3,
      result: null,
      error: null,
      error_type: null,
      error_stack: null,
      error_history: [],
      progress: null,
      unique_key: 'multiply:2:3',
      lease_until: null,
      worker_id: null,
      attempt: 0,
      started_at: null,
      finished_at: null,
      duration: null,
    });
    expect(task.id).toMatch(/^[-0-9A-Za-z_]{22}$/);
    expect((row.run_at as Date).toISOString()).toBe(runAt.toISOString());
    expect((row.created_at as Date).getTime()).toBeGreaterThanOrEqual(before - 5000);
    expect(row.updated_at).toEqual(row.created_at);
    // The client returns the same task, camelCased, with real Dates.
    expect(task).toMatchObject({
      status: 'PENDING',
      retryCount: 0,
      maxRetries: 3,
      uniqueKey: 'multiply:2:3',
    });
    expect(task.createdAt).toBeInstanceOf(Date);
    expect(task.runAt.toISOString()).toBe(runAt.toISOString());
  });

  it('applies the defaults of SPEC §3', async () => {
    const task = await client.createTask('app.tasks.defaults');
    expect(task).toMatchObject({
      args: [],
      kwargs: {},
      queue: 'default',
      priority: 0,
      timeout: 300,
      maxRetries: null,
      uniqueKey: null,
      status: 'PENDING',
    });
    expect(Math.abs(task.runAt.getTime() - task.createdAt.getTime())).toBeLessThan(1000);
  });

  it('computes delay on the database clock', async () => {
    const task = await client.createTask('app.tasks.delayed', { delay: 120 });
    const seconds = (task.runAt.getTime() - task.createdAt.getTime()) / 1000;
    expect(seconds).toBeCloseTo(120, 1);
  });

  it('stores a task with no timeout', async () => {
    const task = await client.createTask('app.tasks.forever', { timeout: null });
    expect(task.timeout).toBeNull();
  });
});

describe.each(driverCases)('client on $name', (driver) => {
  let handle: DriverHandle;
  let client: TaskClient;
  let counting: ReturnType<typeof countingDatabase>;
  beforeAll(async () => {
    handle = await driver.open(t.databaseUrl);
    counting = countingDatabase(handle.db);
    client = createTaskClient({ database: counting, schema: t.schema });
  });
  afterAll(async () => handle.close());

  it('creates a task in exactly one SQL round trip', async () => {
    counting.statements.length = 0;
    await client.createTask('app.tasks.one_trip', { args: [1] });
    expect(counting.statements).toHaveLength(1);
  });

  it('creates 1,000 tasks with one statement, returned in input order', async () => {
    counting.statements.length = 0;
    const tasks = await client.createTasks(
      Array.from({ length: 1000 }, (_, i) => ({ name: 'app.tasks.bulk', args: [i], priority: i % 3 })),
    );
    expect(counting.statements).toHaveLength(1);
    expect(tasks.map((task) => task.args[0])).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(new Set(tasks.map((task) => task.id)).size).toBe(1000);
    const { rows } = await t.db.query(
      `select count(*)::int as n from ${t.schema}.tasks where name = 'app.tasks.bulk' and id = any($1)`,
      [tasks.map((task) => task.id)],
    );
    expect(rows[0]!.n).toBe(1000);
  });

  it('returns from createTasks exactly the tasks getTask reads back', async () => {
    const runAt = new Date(Date.now() + 60_000);
    const plain = [
      { name: 'app.tasks.mixed', args: [{ b: 1, a: [true, null, 'x'] }], kwargs: { z: 1.5, y: 'é' } },
      { name: 'app.tasks.mixed', queue: 'emails', priority: -3, timeout: null, maxRetries: 7, runAt },
      { name: 'app.tasks.mixed', delay: 30.0005, timeout: 5 },
      // Postgres rounds a delay to whole microseconds, half to even.
      ...[0.0000025, 1.0000015, 0.9999995].map((delay) => ({ name: 'app.tasks.mixed', delay })),
    ];
    // Without a uniqueKey in the batch, and with one (a different statement).
    for (const batch of [plain, [...plain, { name: 'app.tasks.mixed', uniqueKey: `mixed:${driver.name}` }]]) {
      const tasks = await client.createTasks(batch);
      for (const task of tasks) expect(await client.getTask(task.id)).toEqual(task);
      expect(tasks[1]!.runAt.getTime()).toBe(runAt.getTime());
      expect(tasks[2]!.runAt.getTime() - tasks[2]!.createdAt.getTime()).toBeGreaterThanOrEqual(30_000);
    }
  });

  it('returns the unfinished task of a uniqueKey instead of a duplicate', async () => {
    const key = `report:${driver.name}`;
    const first = await client.createTask('app.tasks.report', { uniqueKey: key, args: [1] });
    const second = await client.createTask('app.tasks.report', { uniqueKey: key, args: [2] });
    expect(second.id).toBe(first.id);
    expect(second.args).toEqual([1]);
    // Within one createTasks call too.
    const batch = await client.createTasks([
      { name: 'app.tasks.report', uniqueKey: `${key}:b` },
      { name: 'app.tasks.report', uniqueKey: `${key}:b` },
      { name: 'app.tasks.report', uniqueKey: key },
    ]);
    expect(batch[1]!.id).toBe(batch[0]!.id);
    expect(batch[2]!.id).toBe(first.id);
    // Once the first is finished, the key is free again.
    await client.cancelTask(first.id);
    const third = await client.createTask('app.tasks.report', { uniqueKey: key });
    expect(third.id).not.toBe(first.id);
    const { rows } = await t.db.query(
      `select count(*)::int as n from ${t.schema}.tasks where unique_key = $1`,
      [key],
    );
    expect(rows[0]!.n).toBe(2);
  });

  it('deduplicates a uniqueKey under 20 concurrent creators', async () => {
    const key = `race:${driver.name}`;
    const tasks = await Promise.all(
      Array.from({ length: 20 }, () => client.createTask('app.tasks.race', { uniqueKey: key })),
    );
    expect(new Set(tasks.map((task) => task.id)).size).toBe(1);
  });

  it('gets a task, and null for an unknown id', async () => {
    const task = await client.createTask('app.tasks.get', { args: ['a'] });
    expect(await client.getTask(task.id)).toEqual(task);
    expect(await client.getTask('0000000000000000000000')).toBeNull();
    await expect(client.getTask('not an id')).rejects.toBeInstanceOf(InvalidTaskIdError);
    await expect(client.getTask("x' or 1=1 --")).rejects.toMatchObject({ code: 'INVALID_TASK_ID' });
  });

  it('cancels pending and running tasks, leaves final ones alone', async () => {
    const pending = await client.createTask('app.tasks.cancel');
    const cancelled = await client.cancelTask(pending.id);
    expect(cancelled).toMatchObject({ id: pending.id, status: 'CANCELLED' });
    expect(cancelled.finishedAt).toBeInstanceOf(Date);

    const running = await client.createTask('app.tasks.cancel');
    await t.db.query(
      `update ${t.schema}.tasks set status = 'PROGRESS', worker_id = 'w1', attempt = 1, lease_until = now() + interval '30 seconds' where id = $1`,
      [running.id],
    );
    expect((await client.cancelTask(running.id)).status).toBe('CANCELLED');

    const done = await client.createTask('app.tasks.cancel');
    await t.db.query(`update ${t.schema}.tasks set status = 'COMPLETED', result = '7' where id = $1`, [
      done.id,
    ]);
    expect(await client.cancelTask(done.id)).toMatchObject({ status: 'COMPLETED', result: 7 });

    await expect(client.cancelTask('0000000000000000000000')).rejects.toBeInstanceOf(TaskNotFoundError);
  });

  it('waitForCompletion returns a finished task at once', async () => {
    const task = await client.createTask('app.tasks.wait');
    await t.db.query(
      `update ${t.schema}.tasks set status = 'COMPLETED', result = '{"ok":true}' where id = $1`,
      [task.id],
    );
    const started = Date.now();
    const done = await client.waitForCompletion(task.id, { timeout: 10 });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(done).toMatchObject({ id: task.id, status: 'COMPLETED', result: { ok: true } });
  });

  it('waitForCompletion sees a task finish while it waits', async () => {
    const task = await client.createTask('app.tasks.wait');
    setTimeout(() => {
      void t.db.query(`update ${t.schema}.tasks set status = 'FAILED', error = 'boom' where id = $1`, [
        task.id,
      ]);
    }, 300);
    const done = await client.waitForCompletion(task.id, { timeout: 10 });
    expect(done).toMatchObject({ status: 'FAILED', error: 'boom' });
  });

  it('waitForCompletion returns null at the timeout', async () => {
    const task = await client.createTask('app.tasks.wait');
    const started = Date.now();
    expect(await client.waitForCompletion(task.id, { timeout: 0.3 })).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await expect(client.waitForCompletion('0000000000000000000000', { timeout: 1 })).rejects.toBeInstanceOf(
      TaskNotFoundError,
    );
  });
});

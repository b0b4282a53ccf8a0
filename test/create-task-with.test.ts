/**
 * `createTaskWith`: the caller's statements and a task in one transaction, over node-postgres
 * and over Neon HTTP (the real `neon()` client through the local endpoint). Either both commit
 * or neither; a LISTEN worker hears of the task from the commit itself, though the client has
 * no notifier; bad input is refused before anything is sent, and errors of `create_task` come
 * back typed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresNotifier } from '../src/adapters/node/postgres-notifier.ts';
import { createMemoryNotifier } from '../src/adapters/edge/memory-notifier.ts';
import { DatabaseError, type Query } from '../src/core/database.ts';
import type { DueHint } from '../src/core/due-hint.ts';
import { SchemaError, TaskValidationError } from '../src/core/errors.ts';
import { parseTaskEvent, queueChannel } from '../src/core/events/task-events.ts';
import { migrate } from '../src/core/migrations/migrate.ts';
import { migrations } from '../src/core/migrations/compiled.ts';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { silentLogger } from '../worker/container/logger.ts';
import { runWorker } from '../worker/container/run-worker.ts';
import { countingDatabase, driverCases, type DriverHandle } from './support/drivers.ts';
import { inbox } from './support/inbox.ts';
import { uniqueSchemaName, useTestSchema } from './support/test-schema.ts';
import { waitFor } from './support/wait-for.ts';

const t = useTestSchema('taskwith');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  await t.db.query(`create table "${t.schema}".orders (id int primary key, total int not null)`);
});

const insertOrder = (id: number, total = 10): Query => ({
  text: `insert into "${t.schema}".orders (id, total) values ($1, $2) returning id`,
  params: [id, total],
});

async function countIn(queue: string): Promise<number> {
  const { rows } = await t.db.query(`select count(*)::int as n from "${t.schema}".tasks where queue = $1`, [
    queue,
  ]);
  return rows[0]!.n as number;
}

describe.each(driverCases)('createTaskWith over $name', (driver) => {
  let handle: DriverHandle;
  const queue = `with-${driver.name}`;
  const base = driver.name === 'neon-http' ? 2000 : 1000;
  beforeAll(async () => {
    handle = await driver.open(t.databaseUrl);
  });
  afterAll(async () => {
    await handle.close();
  });
  const client = () => createTaskClient({ database: handle.db, schema: t.schema });

  it("commits the caller's statements and the task together", async () => {
    const { task, created, results } = await client().createTaskWith(
      [insertOrder(base + 1)],
      'test.multiply',
      { args: [2, 3], queue, delay: 30, concurrencyKey: `order:${base + 1}` },
    );
    expect(created).toBe(true);
    expect(results.map((r) => r.rows)).toEqual([[{ id: base + 1 }]]);
    expect(task).toMatchObject({ name: 'test.multiply', args: [2, 3], queue, status: 'PENDING' });
    expect(task).toMatchObject({ concurrencyKey: `order:${base + 1}`, concurrencyKeyLimit: 1 });
    expect(task.createdAt).toBeInstanceOf(Date);
    expect(task.runAt.getTime() - task.createdAt.getTime()).toBe(30_000);
    expect(await client().getTask(task.id)).toEqual(task);
  });

  it('stores no task when a statement fails, and no statement when the task is refused', async () => {
    const before = await countIn(queue);
    const duplicate = client().createTaskWith([insertOrder(base + 1)], 'test.noop', { queue });
    await expect(duplicate).rejects.toMatchObject({ code: '23505' });
    await expect(duplicate).rejects.toBeInstanceOf(DatabaseError);
    expect(await countIn(queue)).toBe(before);
    const counting = countingDatabase(handle.db);
    const refusing = createTaskClient({ database: counting, schema: t.schema });
    await expect(
      refusing.createTaskWith([insertOrder(base + 2)], 'test.noop', { queue: '' }),
    ).rejects.toMatchObject({
      code: 'INVALID_QUEUE',
      field: 'queue',
    });
    expect(counting.statements).toEqual([]);
  });

  it('returns the unfinished task holding the uniqueKey, created false, and still commits the statements', async () => {
    const first = await client().createTaskWith([insertOrder(base + 3)], 'test.noop', {
      queue,
      uniqueKey: `k-${queue}`,
    });
    const again = await client().createTaskWith([insertOrder(base + 4)], 'test.noop', {
      queue,
      uniqueKey: `k-${queue}`,
    });
    expect(again).toMatchObject({ created: false, task: { id: first.task.id } });
    const { rows } = await t.db.query(`select count(*)::int as n from "${t.schema}".orders where id = $1`, [
      base + 4,
    ]);
    expect(rows[0]!.n).toBe(1);
  });

  it('hands back an error of create_task as the TaskValidationError the client would throw', async () => {
    const bad: Query = { text: `select "${t.schema}".create_task('ok', '{}')` };
    const error = await client()
      .createTaskWith([bad], 'test.noop', { queue })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskValidationError);
    expect(error).toMatchObject({
      code: 'INVALID_ARGS',
      field: 'args',
      message: 'args must be an array, got a Object object.',
    });
  });
});

describe('createTaskWith and notifiers', () => {
  it('publishes to a notifier that is not LISTEN/NOTIFY after the commit, and counts a change in the due hint', async () => {
    const notifier = createMemoryNotifier();
    let marks = 0;
    const dueHint = {
      mark: () => {
        marks++;
        return Promise.resolve();
      },
    } as DueHint;
    const client = createTaskClient({ database: t.db, schema: t.schema, notifier, dueHint });
    const box = inbox();
    await notifier.subscribe(queueChannel(t.schema, 'memory'), box.onMessage);
    const { task } = await client.createTaskWith([], 'test.noop', {
      queue: 'memory',
      uniqueKey: 'memory-once',
    });
    expect((await box.until(1)).map((m) => parseTaskEvent(m)?.taskId)).toEqual([task.id]);
    expect(marks).toBe(1);
    // A uniqueKey hit created nothing: nothing to announce or count.
    await client.createTaskWith([], 'test.noop', { queue: 'memory', uniqueKey: 'memory-once' });
    await sleep(50);
    expect([box.messages.length, marks]).toEqual([1, 1]);
    await notifier.close();
  });

  it('a schema without migration 8 is reported as too old', async () => {
    const schema = uniqueSchemaName('taskwith_old');
    try {
      await migrate(t.db, { schema, migrations: migrations.filter((m) => m.id < 8) });
      const client = createTaskClient({ database: t.db, schema });
      const error = await client.createTaskWith([], 'test.noop').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SchemaError);
      expect(error).toMatchObject({
        code: 'SCHEMA_TOO_OLD',
        message: expect.stringMatching(/task-worker migrate/),
      });
    } finally {
      await t.db.query(`drop schema if exists "${schema}" cascade`);
    }
  });
});

/** Resolves once `span` ms pass without a statement added to `statements`. */
async function quietFor(statements: readonly string[], span: number): Promise<void> {
  let seen = statements.length;
  let since = Date.now();
  await waitFor(
    () => {
      if (statements.length !== seen) [seen, since] = [statements.length, Date.now()];
      return Date.now() - since >= span;
    },
    { what: `${span} ms without a query`, timeout: 15_000 },
  );
}

describe('a LISTEN worker and an edge client without a notifier', () => {
  it('the worker runs a committed task at once, and hears nothing of a rolled-back one', async () => {
    const neon = driverCases.find((driver) => driver.name === 'neon-http')!;
    const handle = await neon.open(t.databaseUrl);
    const notifier = createPostgresNotifier({ connectionString: t.databaseUrl, onError: () => undefined });
    const listener = createPostgresNotifier({ connectionString: t.databaseUrl, onError: () => undefined });
    const workerDb = countingDatabase(t.db);
    const worker = await runWorker({
      tasks: 'test/fixtures/tasks.ts',
      database: workerDb,
      schema: t.schema,
      queues: ['listen'],
      // Only a wake-up can start the task this soon.
      pollInterval: 60_000,
      notifier,
      logger: silentLogger,
    });
    const client = createTaskClient({ database: handle.db, schema: t.schema });
    try {
      const box = inbox();
      await listener.subscribe(queueChannel(t.schema, 'listen'), box.onMessage);
      // Once the worker has gone quiet (its start-up looks are over), only a wake-up starts it.
      await quietFor(workerDb.statements, 1500);
      const failing = client.createTaskWith([insertOrder(3001), { text: 'select 1/0' }], 'test.noop', {
        queue: 'listen',
      });
      await expect(failing).rejects.toMatchObject({ code: '22012' });
      const { task } = await client.createTaskWith([insertOrder(3002)], 'test.noop', { queue: 'listen' });
      const done = await waitFor(
        async () => {
          const row = await client.getTask(task.id);
          return row?.status === 'COMPLETED' && row;
        },
        { timeout: 10_000, what: 'the task to complete' },
      );
      expect(done.startedAt!.getTime() - task.createdAt.getTime()).toBeLessThan(1_000);
      expect(box.messages.map((m) => parseTaskEvent(m)?.taskId)).toEqual([task.id]);
      expect(await countIn('listen')).toBe(1);
    } finally {
      await worker.stop({ grace: 1 });
      await notifier.close();
      await listener.close();
      await handle.close();
    }
  });
});

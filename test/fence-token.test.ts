/**
 * The lease token: every claim writes a fresh random `lease_token`, and completion, failure,
 * heartbeat, progress and put-back must match it. A claim commits asynchronously, so a
 * Postgres crash can undo it (the row is `PENDING` at its old attempt again); if the same
 * worker then claims the task again, the old and the new run share `(id, attempt, worker_id)`
 * and only the token tells them apart. Also: a `PROGRESS` row without a lease, which no sweep
 * would ever recover, is refused by a constraint (and migration 0004 recovers existing ones).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { DatabaseError, SqlState } from '../src/core/database.ts';
import { claimTasks, type ClaimedTask } from '../src/core/execution/claim.ts';
import { sweepExpiredTasks } from '../src/core/execution/sweep.ts';
import { writeBack } from '../src/core/execution/write-back.ts';
import { migrations } from '../src/core/migrations/compiled.ts';
import { migrate } from '../src/core/migrations/migrate.ts';
import { DEFAULT_RETRY_BACKOFF } from '../src/core/retry-policy.ts';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { workerStatements } from '../src/core/sql/worker-statements.ts';
import type { Completer, WriteBack } from '../worker/container/completer.ts';
import type { Executor, Outcome } from '../worker/container/executor.ts';
import { LeaseKeeper } from '../worker/container/lease-keeper.ts';
import { createLogger, type Logger } from '../worker/container/logger.ts';
import { runWorker } from '../worker/container/run-worker.ts';
import { combineObservers } from '../worker/container/worker-observer.ts';
import { RunningTasks } from '../worker/container/running-tasks.ts';
import { TaskEventPublisher } from '../worker/container/task-event-publisher.ts';
import { emptyWorkerStats } from '../worker/container/worker-stats.ts';
import { useTestSchema, uniqueSchemaName } from './support/test-schema.ts';
import { waitFor } from './support/wait-for.ts';

const t = useTestSchema('fence_token');
const W = 'w-same';

beforeEach(async () => {
  await t.db.query(`delete from ${t.schema}.tasks`);
});

/** Claims one task as `workerId` inside a transaction that is rolled back: a claim lost in a crash. */
async function lostClaim(workerId: string): Promise<ClaimedTask> {
  const sql = workerStatements(t.schema);
  const session = await t.db.pool.connect();
  try {
    await session.query('begin');
    const { rows } = await session.query(sql.taskClaim, [1, workerId, 30, 3, null]);
    await session.query('rollback');
    expect(rows).toHaveLength(1);
    const row = rows[0];
    return {
      id: row.id,
      name: row.name,
      argsJson: row.args_json,
      kwargsJson: row.kwargs_json,
      attempt: row.attempt,
      queue: row.queue,
      priority: row.priority,
      timeout: row.timeout,
      token: row.lease_token,
      traceContext: row.trace_context,
      waitedMs: Number(row.waited_ms),
    };
  } finally {
    session.release();
  }
}

async function claimOne(workerId: string): Promise<ClaimedTask> {
  const sql = workerStatements(t.schema);
  const [task] = await claimTasks({ db: t.db, sql, workerId, lease: 30, defaultRetries: 3, now: null }, 1);
  expect(task).toBeDefined();
  return task!;
}

const completion = (task: ClaimedTask, result: number): WriteBack => ({
  kind: 'complete',
  id: task.id,
  attempt: task.attempt,
  token: task.token,
  name: task.name,
  json: String(result),
  duration: 0.001,
});

describe('lease token', () => {
  it('fences the run of a lost claim from the same worker’s new claim of the same attempt', async () => {
    const client = createTaskClient({ database: t.db, schema: t.schema });
    const created = await client.createTask('test.noop');
    const sql = workerStatements(t.schema);
    const old = await lostClaim(W);
    expect(await client.getTask(created.id)).toMatchObject({ status: 'PENDING', attempt: 0 });

    const current = await claimOne(W);
    // Same id, attempt and worker as the lost run: only the token differs.
    expect([current.id, current.attempt]).toEqual([old.id, old.attempt]);
    expect(current.token).toMatch(/^[0-9a-f-]{36}$/);
    expect(old.token).toMatch(/^[0-9a-f-]{36}$/);
    expect(current.token).not.toBe(old.token);

    const at = new Date(Date.now() + 3_600_000).toISOString();
    const beat = (task: ClaimedTask) =>
      t.db.query(sql.taskHeartbeat, [[task.id], [task.attempt], W, 600, at, [task.token]]);
    expect((await beat(old)).rowCount).toBe(0);
    expect((await beat(current)).rowCount).toBe(1);
    const { rows } = await t.db.query(`select lease_until from ${t.schema}.tasks where id = $1`, [old.id]);
    expect((rows[0]!.lease_until as Date).getTime()).toBe(new Date(at).getTime() + 600_000);

    const progress = (task: ClaimedTask, value: number) =>
      t.db.query(sql.taskProgress, [task.id, task.attempt, W, JSON.stringify(value), task.token]);
    expect((await progress(old, 1)).rowCount).toBe(0);
    expect((await progress(current, 2)).rowCount).toBe(1);
    const putBack = (task: ClaimedTask) =>
      t.db.query(sql.taskPutBack, [[task.id], [task.attempt], W, null, [task.token]]);
    expect((await putBack(old)).rowCount).toBe(0);

    const context = { db: t.db, sql, workerId: W, backoff: DEFAULT_RETRY_BACKOFF, now: null };
    const failure: WriteBack = {
      kind: 'fail',
      id: old.id,
      attempt: old.attempt,
      token: old.token,
      name: old.name,
      error: { message: 'late', type: 'Error', stack: null, nonRetryable: false },
      duration: 1,
      retryable: true,
    };
    expect((await writeBack(context, [failure])).map((landed) => landed.status)).toEqual([null]);
    expect((await writeBack(context, [completion(old, 1)])).map((landed) => landed.status)).toEqual([null]);
    expect(await client.getTask(created.id)).toMatchObject({ status: 'PROGRESS', progress: 2, attempt: 1 });
    expect((await writeBack(context, [completion(current, 2)])).map((landed) => landed.status)).toEqual([
      'COMPLETED',
    ]);
    expect(await client.getTask(created.id)).toMatchObject({ status: 'COMPLETED', result: 2, workerId: W });
    const token = await t.db.query(`select lease_token from ${t.schema}.tasks where id = $1`, [created.id]);
    expect(token.rows[0]!.lease_token).toBeNull();
  });

  it('the lease keeper reports the lost run lost and keeps the new run of the same attempt', async () => {
    const client = createTaskClient({ database: t.db, schema: t.schema });
    await client.createTask('test.noop');
    const old = await lostClaim(W);
    const current = await claimOne(W);
    const lost: ClaimedTask[] = [];
    const keeper = new LeaseKeeper({
      db: t.db,
      sql: workerStatements(t.schema),
      workerId: W,
      lease: 60,
      now: () => null,
      owned: () => [old, current],
      onLost: (tasks) => lost.push(...tasks),
      onError: (error) => {
        throw error;
      },
    });
    await keeper.beat();
    expect(lost).toEqual([old]);
  });

  it('a sweep and a put-back clear the token', async () => {
    const client = createTaskClient({ database: t.db, schema: t.schema });
    const created = await client.createTask('test.noop', { maxRetries: 2 });
    const sql = workerStatements(t.schema);
    const first = await claimOne(W);
    expect(
      (await t.db.query(sql.taskPutBack, [[first.id], [first.attempt], W, null, [first.token]])).rowCount,
    ).toBe(1);
    const tokenOf = async () =>
      (await t.db.query(`select lease_token from ${t.schema}.tasks where id = $1`, [created.id])).rows[0]!
        .lease_token;
    expect(await tokenOf()).toBeNull();
    await claimOne(W);
    expect(await tokenOf()).not.toBeNull();
    const swept = await sweepExpiredTasks(t.db, { schema: t.schema, now: new Date(Date.now() + 3_600_000) });
    expect(swept.map((task) => task.id)).toEqual([created.id]);
    expect(await tokenOf()).toBeNull();
  });
});

describe('running tasks of one worker', () => {
  it('keeps two runs of one task id apart and writes each back with its own token', async () => {
    const finishes = new Map<string, (outcome: Outcome) => void>();
    const executor = {
      freeSlots: 10,
      run: (task: { id: string; token: string }) =>
        new Promise<Outcome>((resolve) => finishes.set(task.token, resolve)),
      abort: () => undefined,
      start: async () => [],
      close: async () => undefined,
    } as unknown as Executor;
    const added: WriteBack[] = [];
    const completer = { add: (item: WriteBack) => added.push(item) } as unknown as Completer;
    const logger = createLogger({ level: 'error' });
    const running = new RunningTasks({
      executor,
      completer,
      publisher: new TaskEventPublisher({ notifier: undefined, schema: t.schema, logger }),
      logger,
      stats: emptyWorkerStats(),
      onFinished: () => undefined,
      observer: combineObservers([], logger),
    });
    const task = {
      id: 'x1',
      name: 'test.noop',
      argsJson: '[]',
      kwargsJson: '{}',
      attempt: 1,
      queue: 'default',
    };
    const old: ClaimedTask = {
      ...task,
      priority: 0,
      timeout: null,
      token: 'token-old',
      traceContext: null,
      waitedMs: 0,
    };
    const current: ClaimedTask = { ...old, token: 'token-new' };
    running.start(old);
    running.start(current);
    expect(running.size).toBe(2);
    expect(running.owned().map((owned) => owned.token)).toEqual(['token-old', 'token-new']);
    finishes.get('token-old')!({ ok: true, json: '1', duration: 0.1 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(running.owned().map((owned) => owned.token)).toEqual(['token-new']);
    finishes.get('token-new')!({ ok: true, json: '2', duration: 0.1 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(added.map((item) => [item.token, item.kind === 'complete' ? item.json : null])).toEqual([
      ['token-old', '1'],
      ['token-new', '2'],
    ]);
  });
});

describe('a worker whose claim was lost in a crash', () => {
  it('aborts the lost run at its next heartbeat, keeps the new one, and puts back only the new one', async () => {
    const logged: Array<{ event: string; fields: Record<string, unknown> }> = [];
    const logger: Logger = { log: (_level, event, fields = {}) => logged.push({ event, fields }) };
    const client = createTaskClient({ database: t.db, schema: t.schema });
    const created = await client.createTask('test.sleep', { args: [600_000], timeout: null, queue: 'fence' });
    const worker = await runWorker({
      tasks: 'test/fixtures/tasks.ts',
      database: t.db,
      schema: t.schema,
      workerId: W,
      queues: ['fence'],
      concurrency: 2,
      pollInterval: 50,
      lease: 1,
      isolation: 'none',
      logger,
    });
    try {
      const tokenAt = async (status: string) => {
        const { rows } = await t.db.query(
          `select lease_token::text as token from ${t.schema}.tasks where id = $1 and status = $2 and attempt = 1`,
          [created.id, status],
        );
        return rows[0]?.token as string | undefined;
      };
      const lost = await waitFor(() => tokenAt('PROGRESS'));
      // What a crash before the claim's WAL reached the disk leaves: the task as before its claim.
      await t.db.query(
        `update ${t.schema}.tasks set status = 'PENDING', attempt = 0, worker_id = null, lease_until = null,
           lease_token = null, started_at = null where id = $1`,
        [created.id],
      );
      const current = await waitFor(async () => {
        const token = await tokenAt('PROGRESS');
        return token !== undefined && token !== lost ? token : undefined;
      });
      // The lost run's heartbeat finds no row with its token: it is aborted, its outcome refused.
      await waitFor(() => logged.find((line) => line.event === 'task_result_rejected'));
      expect(logged.filter((line) => line.event === 'task_aborted')).toHaveLength(1);
      expect(worker.stats().running).toBe(1);
      expect(await tokenAt('PROGRESS')).toBe(current);
      await worker.stop({ grace: 0 });
      expect(await client.getTask(created.id)).toMatchObject({
        status: 'PENDING',
        attempt: 1,
        workerId: null,
      });
    } finally {
      await worker.stop({ grace: 0 });
    }
  }, 20_000);
});

describe('a PROGRESS row without a lease', () => {
  it('is refused on insert and on update', async () => {
    const refused = async (text: string) => {
      const error = await t.db.query(text).then(
        () => undefined,
        (caught: unknown) => DatabaseError.from(caught),
      );
      expect(error?.code).toBe(SqlState.checkViolation);
    };
    await refused(
      `insert into ${t.schema}.tasks (id, name, status, worker_id, attempt) values ('nolease1', 'x', 'PROGRESS', 'w', 1)`,
    );
    const client = createTaskClient({ database: t.db, schema: t.schema });
    const created = await client.createTask('test.noop');
    await refused(
      `update ${t.schema}.tasks set status = 'PROGRESS', worker_id = 'w', attempt = 1 where id = '${created.id}'`,
    );
  });

  it('left by an older version is given an expired lease by migration 0004, and the sweep recovers it', async () => {
    const schema = uniqueSchemaName('fence_old');
    try {
      await migrate(t.db, { schema, migrations: migrations.filter((migration) => migration.id < 4) });
      await t.db.query(
        `insert into ${schema}.tasks (id, name, status, worker_id, attempt, max_retries) values ('stuck1', 'x', 'PROGRESS', 'w', 1, 1)`,
      );
      // What the sweep looks for (an expired lease) this row never gets.
      const before = await t.db.query(`select lease_until from ${schema}.tasks where id = 'stuck1'`);
      expect(before.rows).toEqual([{ lease_until: null }]);
      await migrate(t.db, { schema });
      const swept = await sweepExpiredTasks(t.db, { schema, now: new Date(Date.now() + 1000) });
      expect(swept).toMatchObject([{ id: 'stuck1', status: 'PENDING' }]);
    } finally {
      await t.db.query(`drop schema if exists "${schema}" cascade`);
    }
  });
});

/**
 * Flow control at the claim (issue #15): queue concurrency and rate limits and per-key
 * concurrency hold across concurrent claimers.
 *
 * - Eight claimers on eight connections claim, hold and complete tasks at once; the execution
 *   ledger read back from the rows (started_at, finished_at) never shows more runs in flight
 *   than the queue's limit or a key's, nor more starts in any window than the rate limit. The
 *   same load without limits does exceed them (the ledger would see a violation).
 * - The rate window slides (injected clock), a held claim says how long to wait, a stale list of
 *   limited queues is noticed, the plain claim never takes keyed tasks, and a throttled
 *   backlog costs the claim a row, not a read of the backlog.
 * - concurrencyKey through the client and HTTP, and the queue-limit calls' checks.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../src/core/database.ts';
import { claimTasksWithLimits, type ClaimContext } from '../src/core/execution/claim.ts';
import { createQueueLimitsClient, LIMITS_IN_FORCE_MS } from '../src/core/service/queue-limits.ts';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { workerStatements, type WorkerStatements } from '../src/core/sql/worker-statements.ts';
import { createApp } from '../src/http/index.ts';
import { driverCases } from './support/drivers.ts';
import { maxOverlap, maxOverlapPerKey, maxStartsPerWindow, readLedger } from './support/ledger.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('flow');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const client = () => createTaskClient({ database: t.db, schema: t.schema });
/** Queue limits without the wait for executors that cache the list (each test's claims look it up). */
const limits = () => createQueueLimitsClient(t.db, t.schema, { sleep: async () => undefined });

function context(sql: WorkerStatements, workerId: string, extra: Partial<ClaimContext> = {}): ClaimContext {
  return {
    db: t.db,
    sql,
    workerId,
    lease: 30,
    defaultRetries: 0,
    now: null,
    flowControlMaxAgeMs: 0,
    ...extra,
  };
}

async function complete(
  db: Database,
  sql: WorkerStatements,
  workerId: string,
  task: { id: string; attempt: number; token: string },
) {
  const input = JSON.stringify([
    { id: task.id, attempt: task.attempt, token: task.token, result: null, duration: 0 },
  ]);
  await db.query(sql.taskCompleteMany, [input, workerId, null]);
}

async function unfinished(queue: string): Promise<number> {
  const { rows } = await t.db.query(
    `select count(*)::int as n from ${t.schema}.tasks where queue = $1 and status in ('PENDING', 'PROGRESS')`,
    [queue],
  );
  return rows[0]!.n as number;
}

/**
 * `claimers` loops, each on its own connection, claiming up to `batch` tasks of `queue` and
 * holding each for `holdMs()` before completing it, until the queue is drained.
 */
async function drain(queue: string, options: { claimers?: number; batch?: number; holdMs: () => number }) {
  const sql = workerStatements(t.schema);
  const holds: Promise<void>[] = [];
  const claimer = async (n: number) => {
    const workerId = `claimer-${n}`;
    while ((await unfinished(queue)) > 0) {
      const { tasks } = await claimTasksWithLimits(
        context(sql, workerId, { queues: [queue] }),
        options.batch ?? 3,
      );
      for (const task of tasks) {
        holds.push(sleep(options.holdMs()).then(() => complete(t.db, sql, workerId, task)));
      }
      await sleep(tasks.length === 0 ? 3 : 0);
    }
  };
  await Promise.all(Array.from({ length: options.claimers ?? 8 }, (_, n) => claimer(n)));
  await Promise.all(holds);
}

describe('limits hold under eight concurrent claimers (execution ledger)', () => {
  it('a queue concurrency limit of 5: at most 5 in flight, and 5 reached; without the limit, more', async () => {
    await client().createTasks(Array.from({ length: 120 }, () => ({ name: 'flow.work', queue: 'conc' })));
    await client().createTasks(Array.from({ length: 120 }, () => ({ name: 'flow.work', queue: 'free' })));
    await limits().setQueueLimits('conc', { concurrency: 5 });
    await Promise.all([
      drain('conc', { holdMs: () => 5 + Math.random() * 20 }),
      drain('free', { holdMs: () => 5 + Math.random() * 20 }),
    ]);
    const ledger = await readLedger(t.db, t.schema, 'conc');
    expect(ledger).toHaveLength(120);
    expect(maxOverlap(ledger)).toBe(5);
    expect(maxOverlap(await readLedger(t.db, t.schema, 'free'))).toBeGreaterThan(5);
  });

  it('per-key limits (1, and 2 for one key): never exceeded, while different keys run side by side', async () => {
    const keys = ['k0', 'k1', 'k2', 'k3'];
    await client().createTasks(
      Array.from({ length: 60 }, (_, i) => {
        const key = keys[i % 4]!;
        return {
          name: 'flow.work',
          queue: 'keys',
          concurrencyKey: key,
          ...(key === 'k3' ? { concurrencyKeyLimit: 2 } : {}),
        };
      }),
    );
    await drain('keys', { holdMs: () => 5 + Math.random() * 15 });
    const ledger = await readLedger(t.db, t.schema, 'keys');
    expect(ledger).toHaveLength(60);
    const perKey = maxOverlapPerKey(ledger);
    expect(Object.fromEntries(perKey)).toEqual({ k0: 1, k1: 1, k2: 1, k3: 2 });
    expect(maxOverlap(ledger)).toBeGreaterThanOrEqual(4);
  });

  it('a rate limit of 10 per 0.4 s: at most 10 starts in any 0.4 s window, and 10 reached', async () => {
    await client().createTasks(Array.from({ length: 40 }, () => ({ name: 'flow.work', queue: 'rate' })));
    await limits().setQueueLimits('rate', { rate: { limit: 10, periodSeconds: 0.4 } });
    const started = Date.now();
    await drain('rate', { holdMs: () => Math.random() * 5 });
    const ledger = await readLedger(t.db, t.schema, 'rate');
    expect(ledger).toHaveLength(40);
    expect(maxStartsPerWindow(ledger, 400)).toBe(10);
    // 40 starts at 10 per 0.4 s: the last ten start at least 3 windows after the first.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1150);
  });
});

describe('the limited claim', () => {
  it('slides the rate window (injected clock) and says how long a held claim waits', async () => {
    const sql = workerStatements(t.schema);
    await client().createTasks(Array.from({ length: 10 }, () => ({ name: 'flow.work', queue: 'clock' })));
    await limits().setQueueLimits('clock', { rate: { limit: 3, periodSeconds: 10 } });
    const at = (seconds: number) => new Date(Date.now() + 60_000 + seconds * 1000).toISOString();
    const base = at(0);
    const claim = (now: string) => claimTasksWithLimits(context(sql, 'w', { queues: ['clock'], now }), 10);
    const first = await claim(base);
    expect(first.tasks).toHaveLength(3);
    expect(first.heldBack).toEqual({ slots: false, retryInMs: 10_000 });
    const later = new Date(Date.parse(base) + 4000).toISOString();
    const second = await claim(later);
    expect(second.tasks).toHaveLength(0);
    expect(second.heldBack).toEqual({ slots: false, retryInMs: 6000 });
    // The window is (now − 10 s, now]: the first starts leave it exactly 10 s later.
    const third = await claim(new Date(Date.parse(base) + 10_000).toISOString());
    expect(third.tasks).toHaveLength(3);
  });

  it('reports slots held by a concurrency limit and by a key, and nothing when the queue is drained', async () => {
    const sql = workerStatements(t.schema);
    await client().createTasks([
      { name: 'flow.work', queue: 'held', concurrencyKey: 'u1' },
      { name: 'flow.work', queue: 'held', concurrencyKey: 'u1' },
      { name: 'flow.work', queue: 'held' },
    ]);
    const claim = () => claimTasksWithLimits(context(sql, 'w', { queues: ['held'] }), 10);
    const first = await claim();
    expect(first.tasks).toHaveLength(2);
    expect(first.heldBack).toEqual({ slots: true, retryInMs: null });
    const second = await claim();
    expect(second.tasks).toHaveLength(0);
    expect(second.heldBack).toEqual({ slots: true, retryInMs: null });
    for (const task of first.tasks) await complete(t.db, sql, 'w', task);
    const third = await claim();
    expect(third.tasks).toHaveLength(1);
    expect(third.heldBack).toBeNull();
    await complete(t.db, sql, 'w', third.tasks[0]!);
    expect(await claim()).toEqual({ tasks: [], heldBack: null });
  });

  it('tasks a queue runs when it gets its first limits count against them', async () => {
    const sql = workerStatements(t.schema);
    await client().createTasks(Array.from({ length: 6 }, () => ({ name: 'flow.work', queue: 'before' })));
    const early = await claimTasksWithLimits(context(sql, 'w', { queues: ['before'] }), 3);
    expect(early.tasks).toHaveLength(3);
    await limits().setQueueLimits('before', { concurrency: 3 });
    expect(await claimTasksWithLimits(context(sql, 'w', { queues: ['before'] }), 3)).toEqual({
      tasks: [],
      heldBack: { slots: true, retryInMs: null },
    });
    await complete(t.db, sql, 'w', early.tasks[0]!);
    expect((await claimTasksWithLimits(context(sql, 'w', { queues: ['before'] }), 3)).tasks).toHaveLength(1);
  });

  it('the plain claim never takes a keyed task; a stale list of limited queues is noticed and refreshed', async () => {
    const sql = workerStatements(t.schema);
    await client().createTasks([
      { name: 'flow.work', queue: 'stale_k', concurrencyKey: 'x' },
      ...Array.from({ length: 5 }, () => ({ name: 'flow.work', queue: 'stale_l' })),
    ]);
    const plain = await t.db.query(sql.taskClaimForQueues, [10, 'w', 30, 0, null, ['stale_k']]);
    expect(plain.rows).toHaveLength(0);
    // A list made when only stale_k was controlled, kept for a minute: then stale_l gets limits.
    const cached = context(sql, 'w', { queues: ['stale_k', 'stale_l'], flowControlMaxAgeMs: 60_000 });
    const first = await claimTasksWithLimits(cached, 1);
    expect(first.tasks.map((task) => task.queue)).toEqual(['stale_k']);
    await limits().setQueueLimits('stale_l', { concurrency: 2 });
    const second = await claimTasksWithLimits(cached, 10);
    expect(second.tasks.map((task) => task.queue)).toEqual(['stale_l', 'stale_l']);
    expect(second.heldBack).toEqual({ slots: true, retryInMs: null });
  });

  it('a throttled backlog of 20k due tasks costs an all-queues claim a row, not a read of the backlog', async () => {
    await t.db.query(
      `insert into ${t.schema}.tasks (id, name, queue, created_at, run_at)
       select 'z' || lpad(i::text, 21, '0'), 'flow.work', 'backlog', now() - interval '1 hour' + make_interval(secs => i / 100.0),
              now() - interval '1 hour' + make_interval(secs => i / 100.0)
       from generate_series(1, 20000) as i`,
    );
    await client().createTasks(Array.from({ length: 100 }, () => ({ name: 'flow.work', queue: 'beside' })));
    await t.db.query(`analyze ${t.schema}.tasks`);
    const sql = workerStatements(t.schema);
    await limits().setQueueLimits('backlog', { concurrency: 1 });
    const first = await claimTasksWithLimits(context(sql, 'w', { queues: ['backlog'] }), 5);
    expect(first.tasks).toHaveLength(1);
    const { rows: controlled } = await t.db.query(sql.flowControlledQueues);
    const connection = await t.db.pool.connect();
    try {
      await connection.query('begin');
      const locked = controlled.map((row) => row.queue as string);
      await connection.query(sql.flowClaimLock, [locked]);
      const explain = `explain (analyze, format json) ${sql.taskClaimLimited}`;
      const { rows } = await connection.query(explain, [10, 'w', 30, 0, null, locked]);
      const plan = rows[0]!['QUERY PLAN'][0].Plan as PlanNode;
      // 10 claimed from the queue beside, none from the backlog (its one slot is taken).
      expect(plan['Actual Rows']).toBe(11);
      expect(rowsRead(plan)).toBeLessThanOrEqual(60);
    } finally {
      await connection.query('rollback');
      connection.release();
    }
  });
});

describe('the limited claim on other drivers and settings', () => {
  it('runs as one request over Neon HTTP', async () => {
    const neon = await driverCases.find((driver) => driver.name === 'neon-http')!.open(t.databaseUrl);
    try {
      await client().createTasks([
        { name: 'flow.work', queue: 'neon', concurrencyKey: 'n' },
        { name: 'flow.work', queue: 'neon', concurrencyKey: 'n' },
      ]);
      const sql = workerStatements(t.schema);
      const result = await claimTasksWithLimits(
        { ...context(sql, 'w', { queues: ['neon'] }), db: neon.db },
        5,
      );
      expect(result.tasks).toHaveLength(1);
      expect(result.heldBack).toEqual({ slots: true, retryInMs: null });
    } finally {
      await neon.close();
    }
  });

  it("the cron executor's fitting claim obeys the limits and takes only what fits", async () => {
    const sql = workerStatements(t.schema);
    await client().createTasks([
      { name: 'flow.work', queue: 'fit', timeout: 60 },
      { name: 'flow.work', queue: 'fit', timeout: 10 },
      { name: 'flow.work', queue: 'fit', timeout: 10 },
    ]);
    await limits().setQueueLimits('fit', { concurrency: 1 });
    const fitting = await claimTasksWithLimits(context(sql, 'cron', { queues: ['fit'], maxTimeout: 30 }), 5);
    expect(fitting.tasks.map((task) => task.timeout)).toEqual([10]);
    expect(fitting.heldBack).toEqual({ slots: true, retryInMs: null });
    const everyQueue = await claimTasksWithLimits(context(sql, 'cron', { maxTimeout: 30 }), 5);
    expect(everyQueue.tasks.filter((task) => task.queue === 'fit')).toEqual([]);
  });

  it('refuses to claim when transactions do not start at read committed', async () => {
    await client().createTask('flow.work', { queue: 'iso', concurrencyKey: 'i' });
    const repeatable: Database = {
      query: (text, params, options) => t.db.query(text, params, options),
      transaction: async (queries) =>
        (
          await t.db.transaction([{ text: 'set transaction isolation level repeatable read' }, ...queries])
        ).slice(1),
      close: async () => undefined,
    };
    const sql = workerStatements(t.schema);
    await expect(
      claimTasksWithLimits({ ...context(sql, 'w', { queues: ['iso'] }), db: repeatable }, 5),
    ).rejects.toMatchObject({ code: 'CONFIG', message: expect.stringMatching(/read committed/) });
    const { rows } = await t.db.query(`select status from ${t.schema}.tasks where queue = 'iso'`);
    expect(rows).toEqual([{ status: 'PENDING' }]);
  });
});

interface PlanNode {
  'Node Type': string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/** Rows the plan's table scans read (returned plus filtered out, over all loops). */
function rowsRead(node: PlanNode): number {
  const own = ['Seq Scan', 'Index Scan', 'Index Only Scan', 'Bitmap Heap Scan'].includes(node['Node Type'])
    ? ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) * (node['Actual Loops'] ?? 1)
    : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsRead(child), 0);
}

describe('concurrencyKey and queue limits through the client and HTTP', () => {
  it('stores concurrencyKey with its limit (default 1), and refuses a bad key or limit', async () => {
    const task = await client().createTask('flow.keyed', { concurrencyKey: 'user:42' });
    expect(task).toMatchObject({ concurrencyKey: 'user:42', concurrencyKeyLimit: 1 });
    expect(await client().getTask(task.id)).toEqual(task);
    const [many] = await client().createTasks([
      { name: 'flow.keyed', concurrencyKey: 'user:43', concurrencyKeyLimit: 3 },
    ]);
    expect(await client().getTask(many!.id)).toMatchObject({
      concurrencyKey: 'user:43',
      concurrencyKeyLimit: 3,
    });
    expect((await client().createTask('flow.plain')).concurrencyKey).toBeNull();
    for (const [options, field] of [
      [{ concurrencyKey: '' }, 'concurrencyKey'],
      [{ concurrencyKey: 'k'.repeat(201) }, 'concurrencyKey'],
      [{ concurrencyKey: 7 }, 'concurrencyKey'],
      [{ concurrencyKeyLimit: 2 }, 'concurrencyKeyLimit'],
      [{ concurrencyKey: 'k', concurrencyKeyLimit: 0 }, 'concurrencyKeyLimit'],
      [{ concurrencyKey: 'k', concurrencyKeyLimit: 1.5 }, 'concurrencyKeyLimit'],
    ] as const) {
      await expect(client().createTask('flow.bad', options as never)).rejects.toMatchObject({
        code: 'INVALID_CONCURRENCY_KEY',
        field,
      });
    }
  });

  it('POST /tasks takes concurrencyKey and concurrencyKeyLimit', async () => {
    const app = createApp({ database: t.db, schema: t.schema, apiToken: 'tok', onError: () => undefined });
    const post = (body: unknown) =>
      app.request('/tasks', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer tok' },
        body: JSON.stringify(body),
      });
    const created = await post({ name: 'flow.http', concurrencyKey: 'tenant:1', concurrencyKeyLimit: 2 });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ concurrencyKey: 'tenant:1', concurrencyKeyLimit: 2 });
    const refused = await post({ name: 'flow.http', concurrencyKeyLimit: 2 });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({
      error: { code: 'INVALID_CONCURRENCY_KEY', field: 'concurrencyKeyLimit' },
    });
  });

  it('sets, reads, lists and clears queue limits; checks them; waits for executors when a queue gets its first limits', async () => {
    const waits: number[] = [];
    const calls = createQueueLimitsClient(t.db, t.schema, { sleep: async (ms) => void waits.push(ms) });
    const set = await calls.setQueueLimits('api', { concurrency: 2, rate: { limit: 5, periodSeconds: 1.5 } });
    expect(set).toMatchObject({ queue: 'api', concurrency: 2, rate: { limit: 5, periodSeconds: 1.5 } });
    expect(waits).toEqual([LIMITS_IN_FORCE_MS]);
    await calls.setQueueLimits('api', { concurrency: 3 });
    expect(waits).toHaveLength(1);
    expect(await calls.getQueueLimits('api')).toMatchObject({ concurrency: 3, rate: null });
    expect((await calls.listQueueLimits()).map((row) => row.queue)).toContain('api');
    expect(await calls.clearQueueLimits('api')).toBe(true);
    expect(await calls.clearQueueLimits('api')).toBe(false);
    expect(await calls.getQueueLimits('api')).toBeNull();
    for (const [queue, input, code] of [
      ['', { concurrency: 1 }, 'INVALID_QUEUE'],
      ['q', {}, 'INVALID_QUEUE_LIMITS'],
      ['q', { concurrency: 0 }, 'INVALID_QUEUE_LIMITS'],
      ['q', { rate: { limit: 5, periodSeconds: 0 } }, 'INVALID_QUEUE_LIMITS'],
      ['q', { rate: { limit: 2.5, periodSeconds: 1 } }, 'INVALID_QUEUE_LIMITS'],
      ['q', { concurrency: 1, burst: 2 }, 'INVALID_QUEUE_LIMITS'],
    ] as const) {
      await expect(calls.setQueueLimits(queue, input as never)).rejects.toMatchObject({ code });
    }
    // The client has the same calls.
    expect(typeof client().setQueueLimits).toBe('function');
  });
});

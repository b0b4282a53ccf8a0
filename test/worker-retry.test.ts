/**
 * Retries and back-off. Timing is checked with an injected clock (the statements take "now"),
 * not with sleeps; `--retry 1` means one retry, two attempts.
 */
import { describe, expect, it } from 'vitest';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { DEFAULT_RETRY_BACKOFF, retryDelayBounds } from '../src/core/retry-policy.ts';
import { workerStatements } from '../src/core/sql/worker-statements.ts';
import { useTestSchema } from './support/test-schema.ts';
import { startWorkerProcess } from './support/worker-process.ts';

const t = useTestSchema('retry');
const sql = () => workerStatements(t.schema);
const client = () => createTaskClient({ database: t.db, schema: t.schema });

async function claim(now: Date, limit = 10, defaultRetries = 0) {
  const { rows } = await t.db.query(sql().taskClaim, [limit, 'w1', 30, defaultRetries, now.toISOString()]);
  return rows;
}

/** Fails the run that holds task `id` now (with its claim's lease token) at `attempt`. */
async function fail(id: string, attempt: number, now: Date, retryable = true) {
  const held = await t.db.query(`select lease_token::text as token from ${t.schema}.tasks where id = $1`, [
    id,
  ]);
  const { rows } = await t.db.query(sql().taskFailMany, [
    JSON.stringify([
      {
        id,
        attempt,
        token: held.rows[0]?.token,
        error: `boom ${attempt}`,
        error_type: 'Error',
        error_stack: 'Error: boom',
        duration: 0.1,
        retryable,
      },
    ]),
    'w1',
    now.toISOString(),
    DEFAULT_RETRY_BACKOFF.baseSeconds,
    DEFAULT_RETRY_BACKOFF.maxSeconds,
  ]);
  return rows[0];
}

describe('retry back-off (injected clock)', () => {
  it('doubles the delay per retry, with jitter, and the task is not claimable before it', async () => {
    await t.db.query(`delete from ${t.schema}.tasks`);
    const task = await client().createTask('test.fail', { args: ['x'], maxRetries: 3 });
    let now = new Date(Date.now() + 1000);
    for (let retry = 0; retry < 3; retry++) {
      const [claimed] = await claim(now);
      expect(claimed).toMatchObject({ id: task.id, attempt: retry + 1 });
      const failed = await fail(task.id, retry + 1, now);
      expect(failed).toMatchObject({ status: 'PENDING' });
      const delay = ((failed!.run_at as Date).getTime() - now.getTime()) / 1000;
      const [min, max] = retryDelayBounds(retry);
      expect(delay).toBeGreaterThanOrEqual(min - 0.001);
      expect(delay).toBeLessThanOrEqual(max + 0.001);
      // One millisecond early: nothing to claim. One after: claimed.
      expect(await claim(new Date((failed!.run_at as Date).getTime() - 1))).toEqual([]);
      now = new Date((failed!.run_at as Date).getTime() + 1);
    }
    const [last] = await claim(now);
    expect(await fail(last!.id as string, 4, now)).toMatchObject({ status: 'FAILED' });
    const final = await client().getTask(task.id);
    expect(final).toMatchObject({
      status: 'FAILED',
      retryCount: 3,
      attempt: 4,
      error: 'boom 4',
      errorType: 'Error',
    });
    expect(final!.errorHistory.map((e) => e.message)).toEqual(['boom 1', 'boom 2', 'boom 3', 'boom 4']);
    expect(final!.finishedAt!.toISOString()).toBe(now.toISOString());
  });

  it('caps the delay', () => {
    expect(retryDelayBounds(40)).toEqual([1800, 3600]);
  });

  it('keeps only the last 10 errors', async () => {
    const task = await client().createTask('test.fail', { args: ['x'], maxRetries: 11 });
    let now = new Date(Date.now() + 10_000_000);
    for (let attempt = 1; attempt <= 12; attempt++) {
      const [claimed] = await claim(now);
      expect(claimed?.id).toBe(task.id);
      const failed = await fail(task.id, attempt, now);
      now = new Date((failed!.run_at as Date).getTime() + 1);
    }
    const final = await client().getTask(task.id);
    expect(final!.status).toBe('FAILED');
    expect(final!.errorHistory.map((e) => e.attempt)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('a non-retryable failure fails at once whatever maxRetries says', async () => {
    const task = await client().createTask('test.fail', { args: ['x'], maxRetries: 5 });
    const now = new Date(Date.now() + 20_000_000);
    await claim(now);
    expect(await fail(task.id, 1, now, false)).toMatchObject({ status: 'FAILED' });
  });

  // A task's queue position is when it joined the due tasks: greatest(created_at, run_at).
  const orderCases = [
    { name: 'all queues', queues: undefined },
    { name: 'some queues (merged across them)', queues: ['x', 'y'] },
  ];
  it.each(orderCases)(
    'orders claims of $name: priority, then queue position (fresh by creation, delayed and retries by due time)',
    async ({ queues }) => {
      await t.db.query(`delete from ${t.schema}.tasks`);
      const base = Date.parse('2030-01-01T00:00:00Z');
      const at = (s: number) => new Date(base + s * 1000).toISOString();
      const rows: Array<[string, number, number, string, string, string]> = [
        // id, priority, retry_count, created_at, run_at, queue
        ['aaaaaaaaaaaaaaaaaaaaa1', 0, 0, at(10), at(10), 'x'], // fresh, created 10
        ['aaaaaaaaaaaaaaaaaaaaa2', 0, 1, at(0), at(15), 'y'], // retry due at 15: after fresh created before 15
        ['aaaaaaaaaaaaaaaaaaaaa3', 0, 0, at(20), at(20), 'x'], // fresh, created 20
        ['aaaaaaaaaaaaaaaaaaaaa4', 0, 1, at(1), at(5), 'y'], // retry due at 5: before fresh created 10
        ['aaaaaaaaaaaaaaaaaaaaa5', 1, 0, at(30), at(30), 'y'], // higher priority first
        ['aaaaaaaaaaaaaaaaaaaaa6', 0, 0, at(2), at(25), 'x'], // delayed fresh: by due time (25), like a retry
        ['aaaaaaaaaaaaaaaaaaaaa7', 9, 0, at(0), at(99), 'x'], // not due yet
        ['aaaaaaaaaaaaaaaaaaaaa8', 0, 0, at(12), at(3), 'y'], // runAt before creation: by creation (12)
        ['aaaaaaaaaaaaaaaaaaaaa9', 0, 1, at(4), at(22), 'y'], // retry due at 22: before the delayed task due at 25
        ['aaaaaaaaaaaaaaaaaaaaaz', 0, 0, at(6), at(6), 'x'], // fresh, created 6
      ];
      for (const [id, priority, retryCount, createdAt, runAt, queue] of rows) {
        await t.db.query(
          `insert into ${t.schema}.tasks (id, name, priority, retry_count, max_retries, created_at, run_at, queue) values ($1, 'test.noop', $2, $3, 3, $4, $5, $6)`,
          [id, priority, retryCount, createdAt, runAt, queue],
        );
      }
      // Another queue's tasks, due and at a higher priority: only a claim for all queues takes them.
      await t.db.query(
        `insert into ${t.schema}.tasks (id, name, priority, created_at, run_at, queue) values ('bbbbbbbbbbbbbbbbbbbbb0', 'test.noop', 7, $1, $1, 'other')`,
        [at(40)],
      );
      const now = new Date(base + 50_000).toISOString();
      const claimed: string[] = [];
      for (let i = 0; i < 12; i++) {
        const {
          rows: [row],
        } = queues
          ? await t.db.query(sql().taskClaimForQueues, [1, 'w1', 30, 0, now, queues])
          : await t.db.query(sql().taskClaim, [1, 'w1', 30, 0, now]);
        if (row) claimed.push((row.id as string).slice(-1));
      }
      expect(claimed).toEqual([...(queues ? [] : ['0']), '5', '4', 'z', '1', '8', '2', '3', '9', '6']);
    },
  );
});

describe('--retry', () => {
  it('--retry 1 means one retry: two attempts, then FAILED', async () => {
    const task = await client().createTask('test.fail', { args: ['always'], queue: 'retry-flag' });
    const worker = startWorkerProcess({
      databaseUrl: t.databaseUrl,
      schema: t.schema,
      args: ['--retry', '1', '--queues', 'retry-flag', '--poll-interval', '100'],
    });
    const done = await client().waitForCompletion(task.id, { timeout: 15 });
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(done).toMatchObject({
      status: 'FAILED',
      attempt: 2,
      retryCount: 1,
      maxRetries: 1,
      errorType: 'TypeError',
      error: 'always',
    });
    expect(done!.errorStack).toContain('TypeError: always');
  }, 20_000);
});

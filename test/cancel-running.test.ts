/**
 * Cancelling a running task anywhere: real worker processes hear `task_cancelled` through their
 * notifier (or find the row cancelled at their next heartbeat without one), abort the run's
 * signal, kill its thread after the kill grace if the handler ignores the signal, write
 * nothing, and keep serving other tasks; the row stays `CANCELLED`. The Cloudflare executor
 * reads the rows of its long runs and aborts their signal.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisNotifier } from '../src/adapters/node/redis-notifier.ts';
import {
  anyQueueChannel,
  createTaskEvent,
  queueChannel,
  taskEventMessages,
} from '../src/core/events/task-events.ts';
import { writeBack } from '../src/core/execution/write-back.ts';
import { defineTasks, type TaskContext } from '../src/core/index.ts';
import { DEFAULT_RETRY_BACKOFF } from '../src/core/retry-policy.ts';
import { createTaskClient, type TaskClient } from '../src/core/service/task-client.ts';
import { workerStatements } from '../src/core/sql/worker-statements.ts';
import { runDueTasks } from '../worker/cron/inline-executor.ts';
import { startRedis, stopAllRedis } from './support/private-redis.ts';
import { freePort } from './support/services.ts';
import { useTestSchema } from './support/test-schema.ts';
import { waitFor } from './support/wait-for.ts';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.ts';

const t = useTestSchema('cancelrun');
afterAll(stopAllRedis);

/** Measured latencies (ms), printed at the end for the record. */
const measured: Record<string, number> = {};
afterAll(() => console.log('cancel latencies (ms):', measured));

const execLog = () => join(mkdtempSync(join(tmpdir(), 'cancel-run-')), 'exec.log');
const executions = (log: string, id: string) =>
  readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith(`${id} `)).length;

/** A private Redis, and a client that publishes through it. */
async function redisSetup(): Promise<{ url: string; client: TaskClient; close: () => Promise<void> }> {
  const port = await freePort();
  await startRedis(port);
  const url = `redis://127.0.0.1:${port}`;
  const notifier = createRedisNotifier({ url, onError: () => undefined });
  const client = createTaskClient({ database: t.db, schema: t.schema, notifier });
  return { url, client, close: () => notifier.close() };
}

function worker(queue: string, args: string[], env: Record<string, string> = {}): WorkerProcess {
  return startWorkerProcess({
    databaseUrl: t.databaseUrl,
    schema: t.schema,
    args: ['--poll-interval', '100', '--queues', queue, '--log-level', 'debug', ...args],
    env,
  });
}

async function stop(w: WorkerProcess): Promise<void> {
  if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  await w.exited;
}

/** Milliseconds from `since` (epoch ms) to the time of a worker's log line. */
const after = (since: number, line: Record<string, unknown>) => Date.parse(String(line.time)) - since;

/** Resolves once the worker has handed the task to its executor (a debug line). */
const started = (w: WorkerProcess, taskId: string) =>
  w.waitFor('task_started', (line) => line.taskId === taskId, 60_000);

const stopped = (w: WorkerProcess, taskId: string) =>
  w.waitFor('task_run_stopped', (line) => line.taskId === taskId, 30_000);

describe('cancelling a task a container worker runs', () => {
  it('the notification stops the run within milliseconds; the row stays CANCELLED, fenced', async () => {
    const redis = await redisSetup();
    const log = execLog();
    // Lease 30 s: a heartbeat every 10 s, so a stop within a second can only be the notification.
    const w = worker('cancel-notify', ['--notifier', 'redis'], { REDIS_URL: redis.url, EXEC_LOG: log });
    try {
      const task = await redis.client.createTask('test.sleep', { args: [60_000], queue: 'cancel-notify' });
      await started(w, task.id);
      const { rows } = await t.db.query(
        `select lease_token::text as token, worker_id from ${t.schema}.tasks where id = $1`,
        [task.id],
      );
      const claim = rows[0] as { token: string; worker_id: string };
      const since = Date.now();
      expect((await redis.client.cancelTask(task.id)).status).toBe('CANCELLED');
      const cancelled = await w.waitFor('task_cancelled', (line) => line.taskId === task.id, 30_000);
      expect(cancelled).toMatchObject({ detectedBy: 'notification', started: true });
      const end = await stopped(w, task.id);
      measured.notificationDetect = after(since, cancelled);
      measured.notificationStopped = after(since, end);
      expect(measured.notificationStopped).toBeLessThan(2000);

      // Nothing was written or retried; the cancel kept the run's token, and fencing refuses
      // a late completion of that run all the same (the row is no longer PROGRESS).
      const late = await writeBack(
        {
          db: t.db,
          sql: workerStatements(t.schema),
          workerId: claim.worker_id,
          backoff: DEFAULT_RETRY_BACKOFF,
          now: null,
        },
        [
          {
            kind: 'complete',
            id: task.id,
            attempt: 1,
            token: claim.token,
            name: 'test.sleep',
            json: '1',
            duration: 1,
          },
        ],
      );
      expect(late.map((landed) => landed.status)).toEqual([null]);
      const row = (
        await t.db.query(`select *, lease_token::text as token from ${t.schema}.tasks where id = $1`, [
          task.id,
        ])
      ).rows[0]!;
      expect(row).toMatchObject({
        status: 'CANCELLED',
        attempt: 1,
        retry_count: 0,
        result: null,
        token: claim.token,
      });
      expect(
        w.events.some((line) => line.event === 'task_aborted' || line.event === 'task_result_rejected'),
      ).toBe(false);
      expect(executions(log, task.id)).toBe(1);
    } finally {
      await stop(w);
      await redis.close();
    }
  }, 90_000);

  it('without a notifier, the heartbeat stops the run within one heartbeat (lease / 3)', async () => {
    const client = createTaskClient({ database: t.db, schema: t.schema });
    const w = worker('cancel-beat', ['--notifier', 'none', '--lease', '3']);
    try {
      const task = await client.createTask('test.sleep', { args: [60_000], queue: 'cancel-beat' });
      await started(w, task.id);
      const since = Date.now();
      await client.cancelTask(task.id);
      const cancelled = await w.waitFor('task_cancelled', (line) => line.taskId === task.id, 30_000);
      expect(cancelled).toMatchObject({ detectedBy: 'heartbeat', started: true });
      const end = await stopped(w, task.id);
      measured.heartbeatDetect = after(since, cancelled);
      measured.heartbeatStopped = after(since, end);
      // One heartbeat is 1 s; the rest is slack for a loaded machine.
      expect(measured.heartbeatStopped).toBeLessThan(3000);
      expect(w.events.some((line) => line.event === 'task_aborted')).toBe(false);
      expect((await client.getTask(task.id))?.status).toBe('CANCELLED');
    } finally {
      await stop(w);
    }
  }, 90_000);

  it('a handler that ignores its signal loses its thread after the kill grace; the worker goes on', async () => {
    const redis = await redisSetup();
    const log = execLog();
    const w = worker('cancel-kill', ['--notifier', 'redis'], { REDIS_URL: redis.url, EXEC_LOG: log });
    try {
      const task = await redis.client.createTask('test.sleep_ignoring_signal', {
        args: [60_000],
        queue: 'cancel-kill',
      });
      await started(w, task.id);
      const threadsBefore = w.events.filter((line) => line.event === 'thread_started').length;
      await redis.client.cancelTask(task.id);
      const cancelled = await w.waitFor('task_cancelled', (line) => line.taskId === task.id, 30_000);
      const end = await stopped(w, task.id);
      // The default kill grace is 1 s: the run ends when its thread is terminated.
      const killedAfter = Date.parse(String(end.time)) - Date.parse(String(cancelled.time));
      measured.killAfterCancel = killedAfter;
      expect(killedAfter).toBeGreaterThanOrEqual(900);
      expect(killedAfter).toBeLessThan(5000);
      // A new thread replaces the killed one, and the worker (one slot) runs the next task.
      await waitFor(() => w.events.filter((line) => line.event === 'thread_started').length > threadsBefore);
      const next = await redis.client.createTask('test.multiply', { args: [6, 7], queue: 'cancel-kill' });
      expect(await redis.client.waitForCompletion(next.id, { timeout: 30 })).toMatchObject({
        status: 'COMPLETED',
        result: 42,
      });
      expect(await redis.client.getTask(task.id)).toMatchObject({ status: 'CANCELLED', result: null });
      expect(executions(log, task.id)).toBe(1);
    } finally {
      await stop(w);
      await redis.close();
    }
  }, 90_000);
});

describe('cancelling a task the Cloudflare (inline) executor runs', () => {
  const aborted: Record<string, string> = {};
  const tasks = defineTasks({
    'cancel.wait': async (ms: number, ctx: TaskContext) => {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        ctx.signal.addEventListener('abort', () => {
          aborted[ctx.taskId] = (ctx.signal.reason as Error).name;
          clearTimeout(timer);
          resolve();
        });
      });
      return ms;
    },
    'cancel.ignore': async (ms: number) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return ms;
    },
  });

  it('a run reads its row every cancelCheckMs and stops once it was cancelled, writing nothing', async () => {
    const client = createTaskClient({ database: t.db, schema: t.schema });
    const honours = await client.createTask('cancel.wait', { args: [30_000], queue: 'inline-cancel' });
    const ignores = await client.createTask('cancel.ignore', { args: [8000], queue: 'inline-cancel' });
    const running = runDueTasks({
      db: t.db,
      tasks,
      schema: t.schema,
      queues: ['inline-cancel'],
      budgetMs: 60_000,
      cancelCheckMs: 200,
    });
    const status = async (id: string) => (await client.getTask(id))?.status;
    await waitFor(
      async () => (await status(honours.id)) === 'PROGRESS' && (await status(ignores.id)) === 'PROGRESS',
    );
    const since = Date.now();
    await client.cancelTask(honours.id);
    await client.cancelTask(ignores.id);
    const result = await running;
    measured.inlineStopped = Date.now() - since;
    // Both runs end at the check, the one ignoring its signal too (its late result is ignored).
    expect(measured.inlineStopped).toBeLessThan(3000);
    expect(result).toMatchObject({ claimed: 2, completed: 0, failed: 0, retried: 0, lost: 2 });
    expect(aborted[honours.id]).toBe('AbortError');
    for (const id of [honours.id, ignores.id]) {
      expect(await client.getTask(id)).toMatchObject({ status: 'CANCELLED', result: null });
    }
  }, 60_000);
});

describe('task_cancelled on the wake-up channels', () => {
  it('goes once per task, never coalesced, beside the coalesced wake-ups', () => {
    const task = (id: string) => ({ id, queue: 'q' });
    const events = [
      createTaskEvent('task_created', task('AAAAAAAAAAAAAAAAAAAAAA')),
      createTaskEvent('task_cancelled', task('BBBBBBBBBBBBBBBBBBBBBB')),
      createTaskEvent('task_cancelled', task('CCCCCCCCCCCCCCCCCCCCCC')),
      createTaskEvent('task_created', task('DDDDDDDDDDDDDDDDDDDDDD')),
    ];
    const onQueue = taskEventMessages('s', events, () => undefined)
      .filter(
        (message) => message.channel === queueChannel('s', 'q') || message.channel === anyQueueChannel('s'),
      )
      .map((message) => [message.channel, message.event.event, message.event.taskId.slice(0, 1)]);
    expect(onQueue).toEqual([
      ['s:queue:q', 'task_created', 'A'],
      ['s:queues', 'task_created', 'A'],
      ['s:queue:q', 'task_cancelled', 'B'],
      ['s:queues', 'task_cancelled', 'B'],
      ['s:queue:q', 'task_cancelled', 'C'],
      ['s:queues', 'task_cancelled', 'C'],
    ]);
  });
});

/**
 * Timeouts are real: a busy loop is killed at its timeout (after the abort signal and a short
 * grace), retried or failed, while the same worker keeps serving other tasks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskClient, type TaskClient } from '../src/core/service/task-client.ts';
import type { Logger } from '../worker/container/logger.ts';
import { runWorker, type WorkerHandle } from '../worker/container/run-worker.ts';
import { useTestSchema } from './support/test-schema.ts';
import { eventually } from './support/worker-process.ts';

const t = useTestSchema('timeout');
let client: TaskClient;
let worker: WorkerHandle;
const logs: Array<{ level: string; event: string } & Record<string, unknown>> = [];
const logger: Logger = { log: (level, event, fields) => logs.push({ level, event, ...fields }) };

beforeAll(async () => {
  client = createTaskClient({ database: t.db, schema: t.schema });
  worker = await runWorker({
    tasks: 'test/fixtures/tasks.ts',
    database: t.db,
    schema: t.schema,
    concurrency: 2,
    pollInterval: 50,
    killGrace: 300,
    backoff: { baseSeconds: 0.2, maxSeconds: 1 },
    lease: 3,
    logger,
  });
});
afterAll(async () => worker.stop({ grace: 1 }));

describe('timeouts', () => {
  it('kills a while(true) task at its timeout and keeps serving others', async () => {
    const started = Date.now();
    const spin = await client.createTask('test.spin', { timeout: 1 });
    const normal = await client.createTask('test.sleep', { args: [500] });
    const failed = await client.waitForCompletion(spin.id, { timeout: 10 });
    const elapsed = (Date.now() - started) / 1000;
    expect(failed).toMatchObject({
      status: 'FAILED',
      errorType: 'TimeoutError',
      error: 'Task timed out after 1 s',
    });
    expect(elapsed).toBeLessThan(4);
    expect(await client.waitForCompletion(normal.id, { timeout: 5 })).toMatchObject({
      status: 'COMPLETED',
      result: 500,
    });
    // The killed thread was replaced: both slots serve new tasks.
    const after = await Promise.all([
      client.createTask('test.multiply', { args: [6, 7] }),
      client.createTask('test.multiply', { args: [3, 3] }),
    ]);
    const results = await Promise.all(after.map((task) => client.waitForCompletion(task.id, { timeout: 5 })));
    expect(results.map((task) => task?.result)).toEqual([42, 9]);
  });

  it('retries a timed-out task while retries are left, then fails it, keeping each error', async () => {
    const spin = await client.createTask('test.spin', { timeout: 1, maxRetries: 1 });
    const done = await client.waitForCompletion(spin.id, { timeout: 15 });
    expect(done).toMatchObject({ status: 'FAILED', attempt: 2, retryCount: 1, errorType: 'TimeoutError' });
    expect(done!.errorHistory.map((entry) => [entry.attempt, entry.type])).toEqual([
      [1, 'TimeoutError'],
      [2, 'TimeoutError'],
    ]);
  });

  it('a task that honours its AbortSignal ends at the timeout without a kill', async () => {
    const task = await client.createTask('test.sleep', { args: [60_000], timeout: 1 });
    const done = await client.waitForCompletion(task.id, { timeout: 10 });
    expect(done).toMatchObject({ status: 'FAILED', errorType: 'TimeoutError' });
    // It ended at about the timeout (the signal), well before the kill grace would matter.
    expect(done!.duration!).toBeLessThan(1.3);
  });

  it('aborts a running task that gets cancelled', async () => {
    const task = await client.createTask('test.sleep_ignoring_signal', { args: [30_000] });
    await eventually(async () => (await client.getTask(task.id))?.status === 'PROGRESS');
    await client.cancelTask(task.id);
    // No notifier here: the next heartbeat finds the row cancelled, the run is stopped (its
    // thread killed after the kill grace) and nothing is written (test/cancel-running.test.ts).
    await eventually(
      async () => logs.find((l) => l.event === 'task_run_stopped' && l.taskId === task.id),
      20_000,
    );
    expect(logs.find((l) => l.event === 'task_cancelled')).toMatchObject({
      taskId: task.id,
      detectedBy: 'heartbeat',
    });
    expect(logs.some((l) => l.event === 'task_result_rejected' && l.taskId === task.id)).toBe(false);
    expect((await client.getTask(task.id))?.status).toBe('CANCELLED');
  }, 30_000);
});

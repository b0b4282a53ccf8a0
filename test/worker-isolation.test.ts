/**
 * Isolation modes: threads batch short tasks yet still kill a busy loop without losing the
 * tasks queued behind it; `isolation: 'none'` runs handlers in-process with signal timeouts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskClient, type TaskClient } from '../src/core/service/task-client.ts';
import { silentLogger } from '../worker/container/logger.ts';
import { runWorker, type WorkerHandle } from '../worker/container/run-worker.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('isolation');
let client: TaskClient;
beforeAll(() => {
  client = createTaskClient({ database: t.db, schema: t.schema });
});

describe('thread isolation with batched dispatch', () => {
  let worker: WorkerHandle;
  beforeAll(async () => {
    worker = await runWorker({
      tasks: 'test/fixtures/tasks.ts',
      database: t.db,
      schema: t.schema,
      queues: ['threads'],
      concurrency: 2,
      pollInterval: 50,
      killGrace: 200,
      logger: silentLogger,
    });
  });
  afterAll(async () => worker.stop({ grace: 1 }));

  it('kills a busy loop that has short tasks queued behind it, and runs those elsewhere', async () => {
    // Teach the pool that tasks here are sub-millisecond, so it sends them in batches.
    const warmup = await client.createTasks(
      Array.from({ length: 300 }, () => ({ name: 'test.noop', queue: 'threads' })),
    );
    await client.waitForCompletion(warmup.at(-1)!.id, { timeout: 20 });
    const batch = await client.createTasks([
      { name: 'test.spin', queue: 'threads', timeout: 1 },
      ...Array.from({ length: 200 }, (_, i) => ({ name: 'test.multiply', args: [i, 2], queue: 'threads' })),
    ]);
    const [spin, ...rest] = await Promise.all(
      batch.map((task) => client.waitForCompletion(task.id, { timeout: 20 })),
    );
    expect(spin).toMatchObject({ status: 'FAILED', errorType: 'TimeoutError' });
    expect(rest.map((task) => [task?.status, task?.result])).toEqual(
      rest.map((_, i) => ['COMPLETED', i * 2]),
    );
    // Moved within this worker, not re-claimed: still the first attempt.
    expect(rest.every((task) => task?.attempt === 1)).toBe(true);
  }, 30_000);
});

describe("isolation: 'none'", () => {
  let worker: WorkerHandle;
  beforeAll(async () => {
    worker = await runWorker({
      tasks: 'test/fixtures/tasks.ts',
      database: t.db,
      schema: t.schema,
      queues: ['inline'],
      concurrency: 4,
      pollInterval: 50,
      isolation: 'none',
      logger: silentLogger,
    });
  });
  afterAll(async () => worker.stop({ grace: 1 }));

  it('runs handlers with args, kwargs and context', async () => {
    const task = await client.createTask('test.echo', {
      args: [1, 'a'],
      kwargs: { k: true },
      queue: 'inline',
    });
    expect(await client.waitForCompletion(task.id, { timeout: 10 })).toMatchObject({
      status: 'COMPLETED',
      result: { args: [1, 'a'], kwargs: { k: true }, attempt: 1 },
    });
  });

  it('times out through the AbortSignal', async () => {
    const task = await client.createTask('test.sleep', { args: [60_000], timeout: 1, queue: 'inline' });
    const done = await client.waitForCompletion(task.id, { timeout: 10 });
    expect(done).toMatchObject({ status: 'FAILED', errorType: 'TimeoutError' });
    expect(done!.duration!).toBeLessThan(1.5);
  });

  it('refuses an unknown isolation mode', async () => {
    await expect(
      runWorker({
        tasks: 'test/fixtures/tasks.ts',
        database: t.db,
        schema: t.schema,
        isolation: 'process' as never,
      }),
    ).rejects.toMatchObject({ code: 'CONFIG', message: expect.stringMatching(/isolation must be/) });
  });
});

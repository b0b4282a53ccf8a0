/**
 * Redis is only a doorbell: wake-ups in milliseconds while it is up, nothing lost when it is
 * flushed, restarted or absent. Private redis-server processes, real workers, real waiters.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createTaskClient, type TaskClient } from '../src/core/service/task-client.ts';
import { createRedisNotifier } from '../src/adapters/node/redis-notifier.ts';
import type { Notifier } from '../src/core/notifier.ts';
import { silentLogger } from '../worker/container/logger.ts';
import { runWorker } from '../worker/container/run-worker.ts';
import { startRedis, stopAllRedis, stopProcess } from './support/private-redis.ts';
import { freePort } from './support/services.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('notify');
afterAll(stopAllRedis);

const quiet = { onError: () => undefined, retry: { initialDelayMs: 50, maxDelayMs: 300 } };

/** Counts the messages a notifier hands to subscribers. */
function counting(inner: Notifier): Notifier & { delivered: () => number } {
  let delivered = 0;
  return {
    delivered: () => delivered,
    publish: (channel, message) => inner.publish(channel, message),
    subscribe: (channel, onMessage, options) =>
      inner.subscribe(
        channel,
        (message) => {
          delivered++;
          onMessage(message);
        },
        options,
      ),
    close: () => inner.close(),
  };
}

describe('notifications end to end', () => {
  it('a worker claims a new task within milliseconds, long before its poll interval', async () => {
    const port = await freePort();
    await startRedis(port);
    const notifier = createRedisNotifier({ url: `redis://127.0.0.1:${port}`, ...quiet });
    const worker = await runWorker({
      tasks: 'test/fixtures/tasks.ts',
      database: t.db,
      schema: t.schema,
      queues: ['wake'],
      pollInterval: 60_000,
      notifier,
      logger: silentLogger,
    });
    const client = createTaskClient({ database: t.db, schema: t.schema, notifier });
    try {
      // Let the worker's first (empty) poll pass, so only a wake-up can start the next task.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) {
        const task = await client.createTask('test.noop', { queue: 'wake' });
        const done = await client.waitForCompletion(task.id, { timeout: 10 });
        expect(done?.status).toBe('COMPLETED');
        latencies.push(done!.startedAt!.getTime() - task.createdAt.getTime());
      }
      expect(Math.max(...latencies)).toBeLessThan(1000);
    } finally {
      await worker.stop({ grace: 1 });
      await notifier.close();
    }
  });

  it('waitForCompletion returns an already finished task at once', async () => {
    const port = await freePort();
    await startRedis(port);
    const notifier = createRedisNotifier({ url: `redis://127.0.0.1:${port}`, ...quiet });
    const client = createTaskClient({ database: t.db, schema: t.schema, notifier });
    const task = await client.createTask('test.noop', { queue: 'idle' });
    await t.db.query(`update ${t.schema}.tasks set status = 'COMPLETED', result = '1' where id = $1`, [
      task.id,
    ]);
    const started = Date.now();
    expect(await client.waitForCompletion(task.id, { timeout: 30 })).toMatchObject({
      status: 'COMPLETED',
      result: 1,
    });
    expect(Date.now() - started).toBeLessThan(500);
    await notifier.close();
  });

  it('1,000 concurrent waiters each get their own task, hearing only their own events', async () => {
    const port = await freePort();
    await startRedis(port);
    const notifier = counting(createRedisNotifier({ url: `redis://127.0.0.1:${port}`, ...quiet }));
    const client = createTaskClient({ database: t.db, schema: t.schema, notifier });
    const tasks = await client.createTasks(
      Array.from({ length: 1000 }, (_, i) => ({ name: 'test.multiply', args: [i, 2], queue: 'many' })),
    );
    const waiters = tasks.map((task) => client.waitForCompletion(task.id, { timeout: 60 }));
    // Give the subscriptions a moment, then let a worker run everything.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const worker = await runWorker({
      tasks: 'test/fixtures/tasks.ts',
      database: t.db,
      schema: t.schema,
      queues: ['many'],
      concurrency: 4,
      notifier,
      logger: silentLogger,
    });
    try {
      const results = await Promise.all(waiters);
      expect(results.map((task) => [task?.id, task?.status, task?.result])).toEqual(
        tasks.map((task, i) => [task.id, 'COMPLETED', i * 2]),
      );
      // Each waiter hears its task's few events (started, finished), not the other 999 tasks'.
      expect(notifier.delivered()).toBeLessThan(3 * 1000);
    } finally {
      await worker.stop({ grace: 1 });
      await notifier.close();
    }
  }, 60_000);

  it('Redis flushed and restarted during 2,000 tasks: every task completes, every waiter returns', async () => {
    const port = await freePort();
    let redis: ChildProcess = await startRedis(port);
    const url = `redis://127.0.0.1:${port}`;
    const workerNotifier = createRedisNotifier({ url, ...quiet });
    const clientNotifier = createRedisNotifier({ url, ...quiet });
    const client: TaskClient = createTaskClient({
      database: t.db,
      schema: t.schema,
      notifier: clientNotifier,
      onNotifyError: () => undefined,
    });
    const worker = await runWorker({
      tasks: 'test/fixtures/tasks.ts',
      database: t.db,
      schema: t.schema,
      queues: ['outage'],
      concurrency: 8,
      pollInterval: 250,
      notifier: workerNotifier,
      logger: silentLogger,
    });
    try {
      const waiters: Array<Promise<unknown>> = [];
      const ids: string[] = [];
      for (let batch = 0; batch < 20; batch++) {
        const created = await client.createTasks(
          Array.from({ length: 100 }, () => ({ name: 'test.sleep', args: [5], queue: 'outage' })),
        );
        for (const task of created) {
          ids.push(task.id);
          waiters.push(client.waitForCompletion(task.id, { timeout: 60 }));
        }
        if (batch === 5) {
          // FLUSHALL through a raw connection: the doorbell loses everything it had.
          const { Redis } = await import('ioredis');
          const raw = new Redis(url);
          await raw.flushall();
          raw.disconnect();
        }
        if (batch === 10) {
          await stopProcess(redis);
        }
        if (batch === 14) {
          redis = await startRedis(port);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const results = (await Promise.all(waiters)) as Array<{ id: string; status: string } | null>;
      expect(results.map((task) => task?.id)).toEqual(ids);
      expect(results.every((task) => task?.status === 'COMPLETED')).toBe(true);
      const { rows } = await t.db.query(
        `select count(*)::int as n from ${t.schema}.tasks where queue = 'outage' and status = 'COMPLETED'`,
      );
      expect(rows[0]!.n).toBe(2000);
      expect(worker.stats().completed).toBe(2000);
    } finally {
      await worker.stop({ grace: 1 });
      await workerNotifier.close();
      await clientNotifier.close();
    }
  }, 120_000);

  it('with Redis down for the whole run, tasks still run (polling) and waiters return', async () => {
    const deadPort = await freePort();
    const notifier = createRedisNotifier({ url: `redis://127.0.0.1:${deadPort}`, ...quiet });
    const client = createTaskClient({
      database: t.db,
      schema: t.schema,
      notifier,
      onNotifyError: () => undefined,
    });
    const worker = await runWorker({
      tasks: 'test/fixtures/tasks.ts',
      database: t.db,
      schema: t.schema,
      queues: ['nored'],
      pollInterval: 200,
      notifier,
      logger: silentLogger,
    });
    try {
      const tasks = await client.createTasks(
        Array.from({ length: 20 }, (_, i) => ({ name: 'test.multiply', args: [i, 3], queue: 'nored' })),
      );
      const results = await Promise.all(
        tasks.map((task) => client.waitForCompletion(task.id, { timeout: 20 })),
      );
      expect(results.map((task) => task?.result)).toEqual(tasks.map((_, i) => i * 3));
    } finally {
      await worker.stop({ grace: 1 });
      await notifier.close();
    }
  }, 30_000);
});

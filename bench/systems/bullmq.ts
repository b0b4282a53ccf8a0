/**
 * BullMQ under test (Redis, no Postgres: a reference point for what a Redis-only queue costs),
 * through its public API: `Queue` (`add`, `addBulk`, `getCompletedCount`, `getJobCountByTypes`, `obliterate`) and
 * `Worker` with `concurrency`, in this process. Its keys live under the run's own prefix on
 * the bench Redis database.
 * @module
 */
import { Queue, Worker } from 'bullmq';
import { deleteRedisKeys, redisConnectionOf } from '../redis-keys.ts';
import { installedVersion } from './package-version.ts';
import type {
  BenchEnvironment,
  BenchJob,
  QueueSystem,
  StampListener,
  SystemDefinition,
} from './queue-system.ts';

const QUEUE = 'bench';

const CONCURRENCY: Record<string, number> = {
  best: 50,
  concurrency1: 1,
  default: 1,
  c1: 1,
  c50: 50,
};

export const bullmq: SystemDefinition = {
  name: 'bullmq',
  version: installedVersion('bullmq'),
  modes: {
    drain: { best: 'Worker: concurrency 50' },
    'drain-c1': { concurrency1: 'Worker: concurrency 1' },
    latency: { default: 'Worker: concurrency 1 (blocking wait on Redis)' },
    'enqueue-single': { default: 'queue.add' },
    'enqueue-bulk': { default: 'queue.addBulk, one call per batch' },
    memory: {
      c1: 'Worker: concurrency 1 (child process bench/peer-worker.ts)',
      c50: 'Worker: concurrency 50 (child process bench/peer-worker.ts)',
    },
  },
  create: (environment, mode, prefix) => createBullmq(environment, mode, prefix),
};

function createBullmq(environment: BenchEnvironment, mode: string, prefix: string): QueueSystem {
  if (!prefix.startsWith('bench_')) throw new Error(`BullMQ prefix must start with bench_, got ${prefix}`);
  const connection = redisConnectionOf(environment.redisUrl);
  const queue = new Queue(QUEUE, { connection, prefix });
  const job = (j: BenchJob) => ({ name: j.kind === 'noop' ? 'bench.noop' : 'bench.stamp', data: { i: j.i } });

  return {
    async open() {
      await queue.waitUntilReady();
    },
    async close({ keep = false } = {}) {
      if (!keep) await queue.obliterate({ force: true });
      await queue.close();
      if (!keep) await deleteRedisKeys(environment.redisUrl, `${prefix}:`);
    },
    async enqueue(j) {
      const { name, data } = job(j);
      await queue.add(name, data);
    },
    async enqueueMany(jobs) {
      await queue.addBulk(jobs.map(job));
    },
    countCompleted: () => queue.getCompletedCount(),
    async isDrained() {
      const live = await queue.getJobCountByTypes('wait', 'prioritized', 'delayed', 'active');
      return live === 0;
    },
    async startWorker(onStamp?: StampListener) {
      const concurrency = CONCURRENCY[mode];
      if (concurrency === undefined) throw new Error(`bullmq has no worker mode "${mode}"`);
      const worker = new Worker<{ i: number }>(
        QUEUE,
        async (j) => {
          if (j.name !== 'bench.stamp') return;
          const startedAt = performance.timeOrigin + performance.now();
          onStamp?.(j.data.i, startedAt);
        },
        { connection, prefix, concurrency, autorun: false },
      );
      worker.on('error', (error) => console.error(`bullmq worker error: ${error.message}`));
      await worker.waitUntilReady();
      const running = worker.run();
      return {
        async stop() {
          await worker.close();
          await running.catch(() => undefined);
        },
      };
    },
  };
}

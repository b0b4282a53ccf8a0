/**
 * BullMQ under test (Redis, no Postgres: a reference point for what a Redis-only queue costs),
 * through its public API: `Queue` (`add`, `addBulk`, `getCompletedCount`, `getJobCountByTypes`, `obliterate`) and
 * `Worker` with `concurrency`, in this process. Its keys live under the run's own prefix on
 * the bench Redis database.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import { deleteRedisKeys, redisConnectionOf } from '../redis-keys.ts';
import { installedVersion } from './package-version.ts';
import {
  SLEEP_JOB_MS,
  type BenchEnvironment,
  type BenchJob,
  type QueueSystem,
  type StampListener,
  type SystemDefinition,
} from './queue-system.ts';

const QUEUE = 'bench';

interface BullmqSettings {
  concurrency: number;
  /**
   * `removeOnComplete: true` on the worker: a completed job is deleted instead of being kept in
   * the completed set (completions are then counted as enqueued − still live or failed).
   */
  removeOnComplete?: boolean;
}

// Chosen from a sweep on 2026-12-02 (docs/BENCHMARKS.md): concurrency 50, 100, 200, with and
// without removeOnComplete. BullMQ (without Pro) has no batch fetch; its completion script
// already hands back the next job.
const WORKER_SETTINGS: Record<string, BullmqSettings> = {
  best: { concurrency: 100, removeOnComplete: true },
  concurrency1: { concurrency: 1, removeOnComplete: true },
  // Its defaults: completed jobs kept (run with --peer-defaults).
  'concurrency1-defaults': { concurrency: 1 },
  default: { concurrency: 1 },
  idle: { concurrency: 1 },
  c1: { concurrency: 1 },
  c50: { concurrency: 50 },
};

export const bullmq: SystemDefinition = {
  name: 'bullmq',
  version: installedVersion('bullmq'),
  modes: {
    drain: { best: 'Worker: concurrency 100, removeOnComplete (count 0)' },
    'drain-c1': {
      concurrency1: 'Worker: concurrency 1, removeOnComplete (count 0)',
      'concurrency1-defaults': 'Worker: concurrency 1, completed jobs kept (default)',
    },
    latency: { default: 'Worker: concurrency 1 (blocking wait on Redis)' },
    'enqueue-single': { default: 'queue.add' },
    'enqueue-bulk': { default: 'queue.addBulk, one call per batch' },
    memory: {
      c1: 'Worker: concurrency 1 (child process bench/peer-worker.ts)',
      c50: 'Worker: concurrency 50 (child process bench/peer-worker.ts)',
    },
    'busy-memory': { c50: 'Worker: concurrency 50 (child process bench/peer-worker.ts)' },
    idle: {
      idle: 'Worker with its defaults: concurrency 1, blocking wait (drainDelay 5 s), stalled check every 30 s',
    },
  },
  create: (environment, mode, prefix) => createBullmq(environment, mode, prefix),
};

function createBullmq(environment: BenchEnvironment, mode: string, prefix: string): QueueSystem {
  if (!prefix.startsWith('bench_')) throw new Error(`BullMQ prefix must start with bench_, got ${prefix}`);
  const connection = redisConnectionOf(environment.redisUrl);
  const queue = new Queue(QUEUE, { connection, prefix });
  const job = (j: BenchJob) => ({ name: `bench.${j.kind}`, data: { i: j.i } });
  const settings = WORKER_SETTINGS[mode];
  let enqueued = 0;

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
      enqueued++;
    },
    async enqueueMany(jobs) {
      await queue.addBulk(jobs.map(job));
      enqueued += jobs.length;
    },
    async countCompleted() {
      if (!settings?.removeOnComplete) return queue.getCompletedCount();
      const left = await queue.getJobCountByTypes('wait', 'prioritized', 'delayed', 'active', 'failed');
      return enqueued - left;
    },
    async isDrained() {
      const live = await queue.getJobCountByTypes('wait', 'prioritized', 'delayed', 'active');
      return live === 0;
    },
    async startWorker(onStamp?: StampListener) {
      if (!settings) throw new Error(`bullmq has no worker mode "${mode}"`);
      const { concurrency, removeOnComplete = false } = settings;
      const worker = new Worker<{ i: number }>(
        QUEUE,
        async (j) => {
          if (j.name === 'bench.sleep') return sleep(SLEEP_JOB_MS);
          if (j.name !== 'bench.stamp') return;
          const startedAt = performance.timeOrigin + performance.now();
          onStamp?.(j.data.i, startedAt);
        },
        {
          connection,
          prefix,
          concurrency,
          autorun: false,
          ...(removeOnComplete ? { removeOnComplete: { count: 0 } } : {}),
        },
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

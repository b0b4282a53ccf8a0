/**
 * graphile-worker under test, through its public API: `runMigrations`, `makeWorkerUtils`
 * (`addJob`, `addJobs`) and `run` with a `taskList`, in this process.
 * @module
 */
import {
  Logger,
  makeWorkerUtils,
  run,
  runMigrations,
  type TaskList,
  type WorkerUtils,
} from 'graphile-worker';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPgDatabase } from '../../src/adapters/node/pg-database.ts';
import { graphileDrained, graphileJobCount, schemaDrop } from '../sql/bench-statements.ts';
import { installedVersion } from './package-version.ts';
import {
  SLEEP_JOB_MS,
  type BenchEnvironment,
  type BenchJob,
  type QueueSystem,
  type StampListener,
  type SystemDefinition,
} from './queue-system.ts';

// graphile-worker's options are its "preset" (`worker` scope); `localQueue` and the batch delays
// exist only there.
interface GraphileWorkerPreset {
  concurrentJobs?: number;
  localQueue?: { size: number };
  completeJobBatchDelay?: number;
  failJobBatchDelay?: number;
}

// Its documented high-throughput settings: a local queue (jobs fetched and locked 1,000 at a
// time, handed to its workers without a round trip each) and batched completions (0 = batch what
// completes before the next timer tick; larger delays only postpone the last completion of a
// drain). Chosen from a sweep on 2026-12-02 (docs/BENCHMARKS.md): localQueue 100, 500, 1,000;
// delay 0 or 10 ms; concurrency 1, 10, 50.
const BATCHED = { localQueue: { size: 1000 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 };

const WORKER_SETTINGS: Record<string, GraphileWorkerPreset> = {
  best: { concurrentJobs: 10, ...BATCHED },
  concurrency1: { concurrentJobs: 1, ...BATCHED },
  // Its defaults: no local queue, each completion its own statement (run with --peer-defaults).
  'concurrency1-defaults': { concurrentJobs: 1 },
  listen: { concurrentJobs: 1 },
  idle: {},
  c1: { concurrentJobs: 1 },
  c50: { concurrentJobs: 50 },
};

const silentLogger = new Logger(() => () => {});

export const graphileWorker: SystemDefinition = {
  name: 'graphile-worker',
  version: installedVersion('graphile-worker'),
  modes: {
    drain: {
      best: 'run: concurrency 10, localQueue.size 1000, completeJobBatchDelay 0, failJobBatchDelay 0',
    },
    'drain-c1': {
      concurrency1: 'run: concurrency 1, localQueue.size 1000, completeJobBatchDelay 0, failJobBatchDelay 0',
      'concurrency1-defaults': 'run: concurrency 1, other options default (no local queue, no batching)',
    },
    latency: {
      listen: 'run: concurrency 1, its built-in LISTEN/NOTIFY (jobs:insert), pollInterval default 2000 ms',
    },
    'enqueue-single': { default: 'workerUtils.addJob' },
    'enqueue-bulk': { default: 'workerUtils.addJobs, one call per batch' },
    memory: {
      c1: 'run: concurrency 1 (child process bench/peer-worker.ts)',
      c50: 'run: concurrency 50 (child process bench/peer-worker.ts)',
    },
    'busy-memory': { c50: 'run: concurrency 50 (child process bench/peer-worker.ts)' },
    idle: {
      idle: 'run with its defaults: concurrency 1, LISTEN/NOTIFY, pollInterval 2,000 ms (process bench/peer-worker.ts)',
    },
  },
  create: (environment, mode, schema) => createGraphileWorker(environment, mode, schema),
};

function createGraphileWorker(environment: BenchEnvironment, mode: string, schema: string): QueueSystem {
  const shared = { connectionString: environment.databaseUrl, schema, logger: silentLogger };
  // The harness's own connections (counting, dropping), apart from graphile-worker's pools.
  const admin = createPgDatabase({
    connectionString: environment.databaseUrl,
    max: 2,
    applicationName: 'bench-admin',
  });
  let utils: WorkerUtils | undefined;
  let enqueued = 0;
  const job = (j: BenchJob) => ({
    identifier: `bench_${j.kind}`,
    payload: { i: j.i },
  });

  function ready(): WorkerUtils {
    if (!utils) throw new Error('graphile-worker: open() first');
    return utils;
  }

  return {
    async open({ fresh = true } = {}) {
      if (fresh) await runMigrations(shared);
      utils = await makeWorkerUtils(shared);
    },
    async close({ keep = false } = {}) {
      await utils?.release();
      if (!keep) await admin.query(schemaDrop(schema));
      await admin.close();
    },
    async enqueue(j) {
      const { identifier, payload } = job(j);
      await ready().addJob(identifier, payload);
      enqueued++;
    },
    async enqueueMany(jobs) {
      await ready().addJobs(jobs.map(job));
      enqueued += jobs.length;
    },
    async countCompleted() {
      // Completed jobs are deleted: completed = enqueued by us − still in the table.
      const { rows } = await admin.query<{ n: number }>(graphileJobCount(schema));
      return enqueued - (rows[0]?.n ?? 0);
    },
    async isDrained() {
      const { rows } = await admin.query<{ drained: boolean }>(graphileDrained(schema));
      return rows[0]?.drained === true;
    },
    async startWorker(onStamp?: StampListener) {
      const preset = WORKER_SETTINGS[mode];
      if (!preset) throw new Error(`graphile-worker has no worker mode "${mode}"`);
      const taskList: TaskList = {
        bench_noop: async () => {},
        bench_sleep: () => sleep(SLEEP_JOB_MS),
        bench_stamp: async (payload) => {
          const startedAt = performance.timeOrigin + performance.now();
          onStamp?.((payload as { i: number }).i, startedAt);
        },
      };
      const { concurrentJobs, ...rest } = preset;
      const runner = await run({
        ...shared,
        concurrency: concurrentJobs,
        taskList,
        noHandleSignals: true,
        preset: { worker: rest },
      });
      return { stop: () => runner.stop() };
    },
  };
}

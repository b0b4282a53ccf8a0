/**
 * pg-boss under test, through its public API: `new PgBoss`, `start`, `createQueue`, `send`,
 * `insert` and `work`, in this process.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PgBoss, type WorkOptions } from 'pg-boss';
import { createPgDatabase } from '../../src/adapters/node/pg-database.ts';
import { pgBossDrained, pgBossUnfinishedCount, schemaDrop } from '../sql/bench-statements.ts';
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

type PgBossSettings =
  /**
   * `work()` with these options; `notify`: `useListenNotify` on the instance and on the queue;
   * `oneAtATime`: the handler runs the jobs of its batch one after the other (one job running at
   * a time: concurrency 1 with prefetch), otherwise all at once.
   */
  | { kind: 'work'; work: WorkOptions; notify?: boolean; oneAtATime?: boolean }
  /**
   * One job at a time with `fetch()` then `complete()`, and a 0.5 s sleep when the queue is empty.
   * `work()` cannot do this at batchSize 1: it sleeps pollingIntervalSeconds (>= 0.5 s) after
   * every fetch unless a burst trigger fires, burstWhenBatchFull is ignored at batchSize 1, and
   * burstWhenReadyExceeds reads a queue count cached for up to 60 s (0 for jobs sent after start).
   */
  | { kind: 'loop' };

// Batches that keep fetching while they come back full, with the shortest idle poll allowed.
const BURST = { burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 } as const;

// Chosen from a sweep on 2026-12-02 (docs/BENCHMARKS.md): batchSize 100, 200, 500, 1,000;
// localConcurrency 1, 2, 4.
const WORKER_SETTINGS: Record<string, PgBossSettings> = {
  // Its batch mode: one handler call gets up to 1,000 jobs, completed together; a full batch is
  // followed by the next fetch at once (burstWhenBatchFull) instead of the 0.5 s minimum poll.
  best: { kind: 'work', work: { batchSize: 1000, ...BURST } },
  // Concurrency 1 with prefetch: the same batches, their jobs run one after the other by one
  // handler loop.
  concurrency1: { kind: 'work', work: { batchSize: 1000, ...BURST }, oneAtATime: true },
  // One job per fetch and per completion (run with --peer-defaults).
  'concurrency1-defaults': { kind: 'loop' },
  notify: { kind: 'work', work: { batchSize: 1 }, notify: true },
  // Its defaults: work() with batchSize 1, pollingIntervalSeconds 2, on a queue without notify.
  idle: { kind: 'work', work: {} },
  c1: { kind: 'loop' },
  // 50 jobs in flight: batches of 50 whose handler runs them concurrently.
  c50: { kind: 'work', work: { batchSize: 50, ...BURST } },
};

const EMPTY_QUEUE_SLEEP_MS = 500;

export const pgBoss: SystemDefinition = {
  name: 'pg-boss',
  version: installedVersion('pg-boss'),
  modes: {
    drain: {
      best: 'work: batchSize 1000 (one handler call per batch, its jobs run at once), burstWhenBatchFull, pollingIntervalSeconds 0.5',
    },
    'drain-c1': {
      concurrency1:
        'work: batchSize 1000, one handler loop running the batch one job at a time, burstWhenBatchFull, pollingIntervalSeconds 0.5',
      'concurrency1-defaults':
        'fetch() then complete(), one job at a time (work() at batchSize 1 sleeps >= 0.5 s per fetch)',
    },
    latency: {
      notify: 'useListenNotify on the instance, queue created with notify: true; work: batchSize 1',
    },
    'enqueue-single': { default: 'send' },
    'enqueue-bulk': { default: 'insert, one call per batch' },
    memory: {
      c1: 'fetch() then complete() loop (child process bench/peer-worker.ts)',
      c50: 'work: batchSize 50, burstWhenBatchFull, handler runs the 50 concurrently (child process bench/peer-worker.ts)',
    },
    'busy-memory': {
      c50: 'work: batchSize 50, burstWhenBatchFull, handler runs the 50 concurrently (child process bench/peer-worker.ts)',
    },
    idle: {
      idle: 'new PgBoss with its defaults (supervise, schedule, migrate on); work() with its defaults: batchSize 1, pollingIntervalSeconds 2',
    },
  },
  create: (environment, mode, schema) => createPgBoss(environment, mode, schema),
};

type BenchJobData = { i: number; sleep?: boolean };

/** The `loop` mode: fetch() one job, run it, complete() it; sleep when the queue is empty. */
function startLoop(boss: PgBoss, handle: (job: { data: BenchJobData }) => Promise<void>) {
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const [job] = await boss.fetch<BenchJobData>(QUEUE);
      if (!job) {
        await sleep(EMPTY_QUEUE_SLEEP_MS);
        continue;
      }
      await handle(job);
      await boss.complete(QUEUE, job.id);
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
    },
  };
}

function createPgBoss(environment: BenchEnvironment, mode: string, schema: string): QueueSystem {
  const settings = WORKER_SETTINGS[mode];
  const boss = new PgBoss({
    connectionString: environment.databaseUrl,
    schema,
    useListenNotify: settings?.kind === 'work' && settings.notify === true,
  });
  // An 'error' event without a listener would throw; pg-boss reports fetch errors this way.
  boss.on('error', (error) => console.error(`pg-boss error: ${String(error.message)}`));
  const admin = createPgDatabase({
    connectionString: environment.databaseUrl,
    max: 2,
    applicationName: 'bench-admin',
  });
  // One queue for every kind: a `sleep` job says so in its data.
  const data = (job: BenchJob) => (job.kind === 'sleep' ? { i: job.i, sleep: true } : { i: job.i });
  let enqueued = 0;

  return {
    async open({ fresh = true } = {}) {
      await boss.start();
      if (fresh)
        await boss.createQueue(QUEUE, { notify: settings?.kind === 'work' && settings.notify === true });
    },
    async close({ keep = false } = {}) {
      await boss.stop({ graceful: true, close: true, timeout: 10_000 });
      if (!keep) await admin.query(schemaDrop(schema));
      await admin.close();
    },
    async enqueue(job) {
      await boss.send(QUEUE, data(job));
      enqueued++;
    },
    async enqueueMany(jobs) {
      await boss.insert(
        QUEUE,
        jobs.map((job) => ({ data: data(job) })),
      );
      enqueued += jobs.length;
    },
    async countCompleted() {
      // Enqueued by this instance − not finished yet (see pgBossUnfinishedCount).
      const { rows } = await admin.query<{ n: number }>(pgBossUnfinishedCount(schema), [QUEUE]);
      return enqueued - (rows[0]?.n ?? 0);
    },
    async isDrained() {
      const { rows } = await admin.query<{ drained: boolean }>(pgBossDrained(schema), [QUEUE]);
      return rows[0]?.drained === true;
    },
    async startWorker(onStamp?: StampListener) {
      if (!settings) throw new Error(`pg-boss has no worker mode "${mode}"`);
      // One queue for both job kinds: a worker started with a listener stamps every job.
      const handle = async (job: { data: BenchJobData }) => {
        if (job.data.sleep) return sleep(SLEEP_JOB_MS);
        if (onStamp) onStamp(job.data.i, performance.timeOrigin + performance.now());
      };
      if (settings.kind === 'loop') return startLoop(boss, handle);
      await boss.work<BenchJobData>(QUEUE, settings.work, async (jobs) => {
        if (settings.oneAtATime) for (const job of jobs) await handle(job);
        else await Promise.all(jobs.map(handle));
      });
      // Without an id: every worker of the queue (localConcurrency starts several).
      return { stop: () => boss.offWork(QUEUE, { wait: true }) };
    },
  };
}

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
import type {
  BenchEnvironment,
  BenchJob,
  QueueSystem,
  StampListener,
  SystemDefinition,
} from './queue-system.ts';

const QUEUE = 'bench';

type PgBossSettings =
  /** `work()` with these options; `notify`: `useListenNotify` on the instance and on the queue. */
  | { kind: 'work'; work: WorkOptions; notify?: boolean }
  /**
   * One job at a time with `fetch()` then `complete()`, and a 0.5 s sleep when the queue is empty.
   * `work()` cannot do this at batchSize 1: it sleeps pollingIntervalSeconds (>= 0.5 s) after
   * every fetch unless a burst trigger fires, burstWhenBatchFull is ignored at batchSize 1, and
   * burstWhenReadyExceeds reads a queue count cached for up to 60 s (0 for jobs sent after start).
   */
  | { kind: 'loop' };

const WORKER_SETTINGS: Record<string, PgBossSettings> = {
  // Its batch mode: one handler call gets up to 500 jobs, completed together; a full batch is
  // followed by the next fetch at once (burstWhenBatchFull) instead of the 0.5 s minimum poll.
  best: { kind: 'work', work: { batchSize: 500, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 } },
  concurrency1: { kind: 'loop' },
  notify: { kind: 'work', work: { batchSize: 1 }, notify: true },
  c1: { kind: 'loop' },
  // 50 jobs in flight: batches of 50 whose handler runs them concurrently.
  c50: { kind: 'work', work: { batchSize: 50, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 } },
};

const EMPTY_QUEUE_SLEEP_MS = 500;

export const pgBoss: SystemDefinition = {
  name: 'pg-boss',
  version: installedVersion('pg-boss'),
  modes: {
    drain: {
      best: 'work: batchSize 500 (one handler call per batch), burstWhenBatchFull, pollingIntervalSeconds 0.5',
    },
    'drain-c1': {
      concurrency1:
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
  },
  create: (environment, mode, schema) => createPgBoss(environment, mode, schema),
};

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
  const data = (job: BenchJob) => ({ i: job.i });
  let enqueued = 0;

  function startLoop(handle: (job: { data: { i: number } }) => Promise<void>) {
    let stopping = false;
    const loop = (async () => {
      while (!stopping) {
        const [job] = await boss.fetch<{ i: number }>(QUEUE);
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
      const handle = async (job: { data: { i: number } }) => {
        if (onStamp) onStamp(job.data.i, performance.timeOrigin + performance.now());
      };
      if (settings.kind === 'loop') return startLoop(handle);
      const id = await boss.work<{ i: number }>(QUEUE, settings.work, async (jobs) => {
        await Promise.all(jobs.map(handle));
      });
      return { stop: () => boss.offWork(QUEUE, { id, wait: true }) };
    },
  };
}

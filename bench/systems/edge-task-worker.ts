/**
 * edge-task-worker under test: the client (`createTaskClient` over node-postgres) enqueues, the
 * container worker (`runWorker`: execution threads started on demand, or with `isolation: 'none'`
 * handlers on its main thread) drains, in this process.
 * @module
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createTaskClient, type TaskClient } from '../../client/task-client.ts';
import type { Notifier } from '../../src/notifier.ts';
import { migrate } from '../../src/migrations/migrate.ts';
import { createPgDatabase } from '../../src/node/pg-database.ts';
import { createPostgresNotifier } from '../../src/node/notifications/postgres-notifier.ts';
import { createRedisNotifier } from '../../src/node/notifications/redis-notifier.ts';
import { runWorker, silentLogger } from '../../src/node/index.ts';
import { STAMP_CHANNEL, type StampMessage } from '../fixtures/stamp-channel.ts';
import { edgeTaskWorkerDrained, edgeTaskWorkerUnfinishedCount, schemaDrop } from '../sql/bench-statements.ts';
import type {
  BenchEnvironment,
  BenchJob,
  QueueSystem,
  StampListener,
  SystemDefinition,
} from './queue-system.ts';

/** The tasks module the worker threads load (`bench.noop`, `bench.stamp`). */
export const BENCH_TASKS_PATH = fileURLToPath(new URL('../fixtures/bench-tasks.ts', import.meta.url));

type NotifierKind = 'none' | 'redis' | 'listen';

interface WorkerSettings {
  concurrency: number;
  pollInterval: number;
  notifier: NotifierKind;
  /** `none` runs handlers on the worker's main thread (opt-in; default `thread`). */
  isolation?: 'thread' | 'none';
}

// A short poll only matters when a claim comes back short; a full batch is followed by the next
// claim at once, and a freed slot wakes the producer.
const DRAIN_POLL_MS = 100;

const WORKER_SETTINGS: Record<string, WorkerSettings> = {
  default: { concurrency: 10, pollInterval: DRAIN_POLL_MS, notifier: 'none' },
  best: { concurrency: 50, pollInterval: DRAIN_POLL_MS, notifier: 'none', isolation: 'none' },
  concurrency1: { concurrency: 1, pollInterval: DRAIN_POLL_MS, notifier: 'none' },
  // Latency: the default mode's worker, idle, woken by a notification or a poll.
  redis: { concurrency: 10, pollInterval: 1000, notifier: 'redis' },
  listen: { concurrency: 10, pollInterval: 1000, notifier: 'listen' },
  polling: { concurrency: 10, pollInterval: 1000, notifier: 'none' },
};

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export const edgeTaskWorker: SystemDefinition = {
  name: 'edge-task-worker',
  version,
  modes: {
    drain: {
      default:
        'runWorker: concurrency 10 (execution threads started on demand), pollInterval 100 ms, no notifier, other options default',
      best: 'runWorker: isolation none (handlers on the main thread), concurrency 50, pollInterval 100 ms, no notifier',
    },
    'drain-c1': {
      concurrency1: 'runWorker: concurrency 1 (one execution thread), pollInterval 100 ms, no notifier',
    },
    latency: {
      redis: 'Redis notifier (ioredis) in client and worker; worker concurrency 10, pollInterval 1000 ms',
      listen:
        'Postgres LISTEN/NOTIFY notifier in client and worker; worker concurrency 10, pollInterval 1000 ms',
      polling: 'no notifier, worker polls every 1000 ms (latency bounded by the interval); concurrency 10',
    },
    'enqueue-single': {
      default: 'client.createTask, no notifier',
      redis: 'client.createTask with the Redis notifier (publish awaited after the insert)',
    },
    'enqueue-bulk': {
      default: 'client.createTasks, one statement per batch, no notifier',
      redis: 'client.createTasks with the Redis notifier (one publish per batch)',
    },
    memory: {
      c1: 'task-worker run --concurrency 1 --notifier none --poll-interval 100 (child process)',
      c50: 'task-worker run --concurrency 50 --notifier none --poll-interval 100 (child process)',
      'c50-none': 'task-worker run --concurrency 50 --isolation none --notifier none --poll-interval 100',
    },
  },
  create: (environment, mode, schema) => createEdgeTaskWorker(environment, mode, schema),
};

function notifierFor(kind: NotifierKind, environment: BenchEnvironment, name: string): Notifier | undefined {
  if (kind === 'redis') return createRedisNotifier({ url: environment.redisUrl, connectionName: name });
  if (kind === 'listen') {
    return createPostgresNotifier({ connectionString: environment.databaseUrl, applicationName: name });
  }
  return undefined;
}

function createEdgeTaskWorker(environment: BenchEnvironment, mode: string, schema: string): QueueSystem {
  const worker = WORKER_SETTINGS[mode];
  const clientNotifierKind: NotifierKind = mode === 'redis' ? 'redis' : mode === 'listen' ? 'listen' : 'none';
  const db = createPgDatabase({ connectionString: environment.databaseUrl, applicationName: 'bench-client' });
  const clientNotifier = notifierFor(clientNotifierKind, environment, 'bench-client');
  const client: TaskClient = createTaskClient({ database: db, schema, notifier: clientNotifier });
  let enqueued = 0;
  const task = (job: BenchJob) => ({
    name: job.kind === 'noop' ? 'bench.noop' : 'bench.stamp',
    kwargs: { i: job.i },
  });

  return {
    async open({ fresh = true } = {}) {
      if (fresh) await migrate(db, { schema });
    },
    async close({ keep = false } = {}) {
      if (!keep) await db.query(schemaDrop(schema));
      await clientNotifier?.close();
      await db.close();
    },
    async enqueue(job) {
      const { name, kwargs } = task(job);
      await client.createTask(name, { kwargs });
      enqueued++;
    },
    async enqueueMany(jobs) {
      await client.createTasks(jobs.map(task));
      enqueued += jobs.length;
    },
    async countCompleted() {
      // Enqueued by this instance − not completed yet (see edgeTaskWorkerUnfinishedCount).
      const { rows } = await db.query<{ n: number }>(edgeTaskWorkerUnfinishedCount(schema));
      return enqueued - (rows[0]?.n ?? 0);
    },
    async isDrained() {
      const { rows } = await db.query<{ drained: boolean }>(edgeTaskWorkerDrained(schema));
      return rows[0]?.drained === true;
    },
    async startWorker(onStamp?: StampListener) {
      if (!worker) throw new Error(`edge-task-worker has no worker mode "${mode}"`);
      const stamps = new BroadcastChannel(STAMP_CHANNEL);
      stamps.onmessage = (event) => {
        const { i, startedAt } = (event as MessageEvent<StampMessage>).data;
        onStamp?.(i, startedAt);
      };
      const notifier = notifierFor(worker.notifier, environment, 'bench-worker');
      const handle = await runWorker({
        tasks: BENCH_TASKS_PATH,
        databaseUrl: environment.databaseUrl,
        schema,
        concurrency: worker.concurrency,
        pollInterval: worker.pollInterval,
        notifier,
        logger: silentLogger,
        isolation: worker.isolation,
      });
      return {
        async stop() {
          await handle.stop({ grace: 5 });
          stamps.close();
          await notifier?.close();
        },
      };
    },
  };
}

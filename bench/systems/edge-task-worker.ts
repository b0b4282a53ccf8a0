/**
 * edge-task-worker under test, from its build (`dist/`, see edge-task-worker-build.ts): the
 * client (`createTaskClient` over node-postgres) enqueues, the container worker (`runWorker`:
 * execution threads started on demand, or with `isolation: 'none'` handlers on its main thread)
 * drains, in this process.
 * @module
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TaskClient } from '../../src/core/service/task-client.ts';
import type { Database } from '../../src/core/database.ts';
import type { Notifier } from '../../src/core/notifier.ts';
import { STAMP_CHANNEL, type StampMessage } from '../fixtures/stamp-channel.js';
import {
  edgeTaskWorkerDrained,
  edgeTaskWorkerUnfinished,
  edgeTaskWorkerUnfinishedCount,
  schemaDrop,
} from '../sql/bench-statements.ts';
import type {
  BenchEnvironment,
  BenchJob,
  QueueSystem,
  StampListener,
  SystemDefinition,
} from './queue-system.ts';
import { loadEdgeTaskWorkerBuild, type EdgeTaskWorkerBuild } from './edge-task-worker-build.ts';
import { exportedSpans, observabilityApi } from '../observability-sdk.ts';

/** The tasks module the worker threads load (`bench.noop`, `bench.stamp`). */
export const BENCH_TASKS_PATH = fileURLToPath(new URL('../fixtures/bench-tasks.js', import.meta.url));

type NotifierKind = 'none' | 'redis' | 'listen';

interface WorkerSettings {
  concurrency: number;
  pollInterval: number;
  notifier: NotifierKind;
  /** `none` runs handlers on the worker's main thread (opt-in; default `thread`). */
  isolation?: 'thread' | 'none';
  /** Prometheus metrics and/or OpenTelemetry tracing on (bench/observability-sdk.ts). */
  observed?: {
    metrics: boolean;
    tracing: boolean;
    sampleRatio?: number;
    /** Tasks created traced (their rows carry a trace context) while the worker does not trace. */
    createdTracedOnly?: boolean;
  };
}

// A short poll only matters when a claim comes back short; a full batch is followed by the next
// claim at once, and a freed slot wakes the producer.
const DRAIN_POLL_MS = 100;

const DEFAULT_DRAIN: WorkerSettings = { concurrency: 10, pollInterval: DRAIN_POLL_MS, notifier: 'none' };
const BEST_DRAIN: WorkerSettings = { ...DEFAULT_DRAIN, concurrency: 50, isolation: 'none' };

const WORKER_SETTINGS: Record<string, WorkerSettings> = {
  default: DEFAULT_DRAIN,
  best: BEST_DRAIN,
  // The same two with metrics and tracing on: what observability costs a drain.
  'default-observed': { ...DEFAULT_DRAIN, observed: { metrics: true, tracing: true } },
  'default-observed-10pct': {
    ...DEFAULT_DRAIN,
    observed: { metrics: true, tracing: true, sampleRatio: 0.1 },
  },
  'default-metrics': { ...DEFAULT_DRAIN, observed: { metrics: true, tracing: false } },
  'default-tracing': { ...DEFAULT_DRAIN, observed: { metrics: false, tracing: true } },
  'default-tracing-10pct': {
    ...DEFAULT_DRAIN,
    observed: { metrics: false, tracing: true, sampleRatio: 0.1 },
  },
  'best-metrics': { ...BEST_DRAIN, observed: { metrics: true, tracing: false } },
  'best-tracing': { ...BEST_DRAIN, observed: { metrics: false, tracing: true } },
  'best-tracing-10pct': { ...BEST_DRAIN, observed: { metrics: false, tracing: true, sampleRatio: 0.1 } },
  'best-observed': { ...BEST_DRAIN, observed: { metrics: true, tracing: true } },
  // Rows as best-tracing's (each carries its creator's context), the worker without tracing: what
  // the wider rows alone change, apart from the worker's spans.
  'default-traced-rows': {
    ...DEFAULT_DRAIN,
    observed: { metrics: false, tracing: false, createdTracedOnly: true },
  },
  'best-traced-rows': {
    ...BEST_DRAIN,
    observed: { metrics: false, tracing: false, createdTracedOnly: true },
  },
  concurrency1: { concurrency: 1, pollInterval: DRAIN_POLL_MS, notifier: 'none' },
  'concurrency1-none': { concurrency: 1, pollInterval: DRAIN_POLL_MS, notifier: 'none', isolation: 'none' },
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
      'default-observed':
        'default, with a metrics registry (rendered every second) and OpenTelemetry tracing (BatchSpanProcessor); tasks created traced',
      'default-observed-10pct':
        'default-observed with a ParentBased(TraceIdRatio 0.1) sampler: metrics, and one task in ten traced',
      'default-metrics': 'default, with a metrics registry (rendered every second)',
      'default-tracing':
        'default, with OpenTelemetry tracing (BatchSpanProcessor); every task created traced',
      'default-tracing-10pct':
        'default-tracing with a ParentBased(TraceIdRatio 0.1) sampler: one task in ten traced, run spans follow',
      'best-metrics': 'best, with a metrics registry (rendered every second)',
      'best-tracing': 'best, with OpenTelemetry tracing (BatchSpanProcessor); every task created traced',
      'best-tracing-10pct':
        'best-tracing with a ParentBased(TraceIdRatio 0.1) sampler: one task in ten traced, run spans follow',
      'default-traced-rows':
        "default, the tasks created traced (as default-tracing's) but the worker not tracing: the rows' trace context alone",
      'best-traced-rows':
        "best, the tasks created traced (as best-tracing's) but the worker not tracing: the rows' trace context alone",
      'best-observed':
        'best, with a metrics registry (rendered every second) and OpenTelemetry tracing (BatchSpanProcessor); tasks created traced',
    },
    'drain-c1': {
      concurrency1: 'runWorker: concurrency 1 (one execution thread), pollInterval 100 ms, no notifier',
      'concurrency1-none':
        'runWorker: isolation none (handlers on the main thread), concurrency 1, pollInterval 100 ms, no notifier',
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
    'busy-memory': {
      c50: 'task-worker run --concurrency 50 --notifier none --poll-interval 100 (threads grow to 50)',
      'c50-none': 'task-worker run --concurrency 50 --isolation none --notifier none --poll-interval 100',
    },
  },
  create: (environment, mode, schema) => createEdgeTaskWorker(environment, mode, schema),
};

function notifierFor(
  build: EdgeTaskWorkerBuild,
  kind: NotifierKind,
  environment: BenchEnvironment,
  name: string,
): Notifier | undefined {
  if (kind === 'redis') return build.createRedisNotifier({ url: environment.redisUrl, connectionName: name });
  if (kind === 'listen') {
    return build.createPostgresNotifier({ connectionString: environment.databaseUrl, applicationName: name });
  }
  return undefined;
}

/** The client side of one system instance, built from the loaded build in `open`. */
interface ClientSide {
  build: EdgeTaskWorkerBuild;
  db: Database;
  client: TaskClient;
  notifier: Notifier | undefined;
}

function createEdgeTaskWorker(environment: BenchEnvironment, mode: string, schema: string): QueueSystem {
  const worker = WORKER_SETTINGS[mode];
  const clientNotifierKind: NotifierKind = mode === 'redis' ? 'redis' : mode === 'listen' ? 'listen' : 'none';
  let side: ClientSide | undefined;
  const opened = (): ClientSide => {
    if (!side) throw new Error('edge-task-worker: open() first');
    return side;
  };
  let enqueued = 0;
  const task = (job: BenchJob) => ({ name: `bench.${job.kind}`, kwargs: { i: job.i } });

  return {
    async open({ fresh = true } = {}) {
      const build = await loadEdgeTaskWorkerBuild();
      const db = build.createPgDatabase({
        connectionString: environment.databaseUrl,
        applicationName: 'bench-client',
      });
      const notifier = notifierFor(build, clientNotifierKind, environment, 'bench-client');
      const observed = worker?.observed;
      const tracing =
        observed?.tracing || observed?.createdTracedOnly ? observabilityApi(observed.sampleRatio) : false;
      side = {
        build,
        db,
        notifier,
        client: build.createTaskClient({ database: db, schema, notifier, tracing }),
      };
      if (fresh) await build.migrate(db, { schema });
    },
    async close({ keep = false } = {}) {
      const { db, notifier } = opened();
      if (!keep) await db.query(schemaDrop(schema));
      await notifier?.close();
      await db.close();
    },
    async enqueue(job) {
      const { name, kwargs } = task(job);
      await opened().client.createTask(name, { kwargs });
      enqueued++;
    },
    async enqueueMany(jobs) {
      await opened().client.createTasks(jobs.map(task));
      enqueued += jobs.length;
    },
    async countCompleted() {
      // Enqueued by this instance − not completed yet (see edgeTaskWorkerUnfinishedCount).
      const { rows } = await opened().db.query<{ n: number }>(edgeTaskWorkerUnfinishedCount(schema));
      return enqueued - (rows[0]?.n ?? 0);
    },
    async isDrained() {
      const { rows } = await opened().db.query<{ drained: boolean }>(edgeTaskWorkerDrained(schema));
      return rows[0]?.drained === true;
    },
    async describeUnfinished() {
      const { rows } = await opened().db.query<{ status: string; error: string | null; n: number }>(
        edgeTaskWorkerUnfinished(schema),
      );
      return rows.map(({ status, error, n }) => `${n} ${status}${error ? ` (${error})` : ''}`).join(', ');
    },
    async startWorker(onStamp?: StampListener) {
      if (!worker) throw new Error(`edge-task-worker has no worker mode "${mode}"`);
      const { build } = opened();
      const stamps = new BroadcastChannel(STAMP_CHANNEL);
      stamps.onmessage = (event) => {
        const { i, startedAt } = (event as MessageEvent<StampMessage>).data;
        onStamp?.(i, startedAt);
      };
      const notifier = notifierFor(build, worker.notifier, environment, 'bench-worker');
      const registry = worker.observed?.metrics ? build.createMetricsRegistry() : undefined;
      const spansAtStart = exportedSpans.count;
      // A scrape a second renders the registry (without the queue gauges' query, as a worker
      // started with --no-queue-metrics: its cost is the database's, once per cache period).
      const scrape = registry ? setInterval(() => void registry.render(), 1000) : undefined;
      const handle = await build.runWorker({
        tasks: BENCH_TASKS_PATH,
        databaseUrl: environment.databaseUrl,
        schema,
        concurrency: worker.concurrency,
        pollInterval: worker.pollInterval,
        notifier,
        logger: build.silentLogger,
        isolation: worker.isolation,
        metrics: registry ? { registry, queueStats: false } : undefined,
        tracing: worker.observed?.tracing ? observabilityApi(worker.observed.sampleRatio) : false,
      });
      return {
        async stop() {
          clearInterval(scrape);
          await handle.stop({ grace: 5 });
          stamps.close();
          await notifier?.close();
          // The worker flushes the SDK at stop: a drain that traced every task and exported nothing
          // measured nothing. (At a 10 % ratio a whole drain may go unsampled: a createTasks batch
          // shares one create span, so its tasks are sampled together.)
          const everyTask = (worker.observed?.sampleRatio ?? 1) === 1;
          if (worker.observed?.tracing && everyTask && exportedSpans.count === spansAtStart) {
            throw new Error('an observed drain exported no spans: tracing was not on');
          }
        },
      };
    },
  };
}

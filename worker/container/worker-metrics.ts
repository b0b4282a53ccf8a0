/**
 * A worker's metrics, wired: the counting observer (metrics-observer.ts), the gauges read at
 * scrape time (slots busy and idle, execution threads, whether the notifier is connected) and
 * the queue gauges of its schema (src/core/metrics/queue-stats.ts). `runWorker({ metrics })`
 * calls it; `task-worker run --metrics-port` serves the registry (metrics-server.ts).
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import { ConfigError } from '../../src/core/errors.ts';
import type { MetricsRegistry } from '../../src/core/metrics/metrics-registry.ts';
import { DEFAULT_QUEUE_STATS_CACHE_MS, queueStats } from '../../src/core/metrics/queue-stats.ts';
import type { Executor } from './executor.ts';
import type { Logger } from './logger.ts';
import { metricsObserver } from './metrics-observer.ts';
import type { WorkerObserver } from './worker-observer.ts';

/** `runWorker`'s `metrics` option. One worker per registry (a second one's gauges replace the first's). */
export interface WorkerMetricsOptions {
  /** Counted into; serve it with `startMetricsServer` or render it yourself (`registry.render()`). */
  registry: MetricsRegistry;
  /**
   * Also report the queue gauges (tasks per queue and status, the oldest due task's wait): one
   * query per scrape at most every `cacheSeconds`. A worker scraped this way keeps a serverless
   * Postgres awake; turn it off there and scrape the gauges from one place (default: true).
   */
  queueStats?: boolean;
  /** Seconds one answer of the queue-gauge query is reused (default: 5). */
  cacheSeconds?: number;
}

/** What the gauges read from the running worker. */
export interface WorkerMetricsParts {
  db: Database;
  schema: string;
  concurrency: number;
  /** Tasks handed to the executor and not finished. */
  running: () => number;
  executor: () => Executor;
  /** Whether notifications reach the worker. */
  listening: () => boolean;
  logger: Logger;
}

/** The observers to add, and `detach`, which stops the scrape-time collectors (at stop). */
export function workerMetrics(
  options: WorkerMetricsOptions | undefined,
  parts: WorkerMetricsParts,
): { observers: WorkerObserver[]; detach: () => void } {
  if (options === undefined) return { observers: [], detach: () => undefined };
  const { registry } = options;
  if (typeof registry?.render !== 'function') {
    throw new ConfigError('metrics.registry must be a registry from createMetricsRegistry().');
  }
  const cacheSeconds = options.cacheSeconds ?? DEFAULT_QUEUE_STATS_CACHE_MS / 1000;
  if (typeof cacheSeconds !== 'number' || !Number.isFinite(cacheSeconds) || cacheSeconds < 0) {
    throw new ConfigError(`metrics.cacheSeconds must be 0 or more seconds, got ${String(cacheSeconds)}.`);
  }
  const detachers = [registry.collect('worker', workerGauges(registry, parts))];
  if (options.queueStats !== false) {
    const stats = queueStats(registry, { schema: parts.schema, cacheMs: cacheSeconds * 1000 });
    const onError = (error: unknown) =>
      parts.logger.log('warn', 'metrics_queue_stats_failed', { error: String(error) });
    detachers.push(registry.collect('worker-queue-stats', () => stats.refresh(parts.db, onError)));
  }
  return {
    observers: [metricsObserver(registry)],
    detach: () => detachers.forEach((detach) => detach()),
  };
}

/** Sets the worker's gauges; run before each render. */
function workerGauges(registry: MetricsRegistry, parts: WorkerMetricsParts): () => void {
  const slots = registry.gauge(
    'task_worker_worker_slots',
    'Task slots of this worker (--concurrency): busy (a task claimed and handed to the executor) or idle.',
    ['state'],
  );
  const threads = registry.gauge(
    'task_worker_worker_threads',
    'Execution threads started (they start on demand up to --concurrency and stop after 60 s idle; 0 with --isolation none).',
  );
  const notifier = registry.gauge(
    'task_worker_notifier_up',
    '1 while notifications reach this worker (it sleeps until woken), 0 while it polls (no notifier, or it is down).',
  );
  return () => {
    const busy = Math.min(parts.running(), parts.concurrency);
    slots.labels('busy').set(busy);
    slots.labels('idle').set(parts.concurrency - busy);
    const executor = parts.executor() as Executor & { threads?: number };
    threads.set(typeof executor.threads === 'number' ? executor.threads : 0);
    notifier.set(parts.listening() ? 1 : 0);
  };
}

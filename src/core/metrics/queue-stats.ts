/**
 * The queue gauges: tasks per queue and status, due tasks, the oldest due task's wait, the
 * table's estimated size. They describe the shared database, not the process that reports
 * them, so every target that serves them (the HTTP app, each worker) reports the same values:
 * aggregate them with `max`, never `sum`.
 *
 * Refreshed from one query (metrics-statements.ts) whose answer is reused for `cacheMs` and
 * shared by scrapes that arrive together (cached-value.ts): a scrape costs at most one query
 * per `cacheMs` per registry and schema, whatever the scrape interval and however many
 * Prometheus servers scrape. A queue once seen keeps reporting zeros after its last task is
 * gone, so its graphs fall to 0 instead of going stale. Edge-safe.
 * @module
 */
import type { Database, Row } from '../database.ts';
import { metricsStatements } from '../sql/metrics-statements.ts';
import { cachedValue } from './cached-value.ts';
import type { MetricsRegistry } from './metrics-registry.ts';

/** How long one answer of the queue-stats query is reused by default: 5 s. */
export const DEFAULT_QUEUE_STATS_CACHE_MS = 5000;

export interface QueueStatsOptions {
  schema: string;
  /** Milliseconds one answer is reused (default: 5000). The first caller per registry and schema sets it. */
  cacheMs?: number;
}

export interface QueueStats {
  /**
   * Sets the gauges from the cached answer, or from a new query when it is older than the
   * cache time. Never rejects: a failed query sets `task_worker_queue_stats_up` to 0, drops the
   * queue gauges (no stale numbers) and goes to `onError` once per failed query.
   */
  refresh(database: Database, onError?: (error: unknown) => void): Promise<void>;
}

/** The statuses counted per queue: every one but COMPLETED (see metrics-statements.ts). */
const COUNTED = ['PENDING', 'PROGRESS', 'FAILED', 'CANCELLED'] as const;

interface Snapshot {
  rows: Row[];
  seconds: number;
}

/** The queue gauges of `schema` in `registry`, one instance (and one cache) per pair. */
export function queueStats(registry: MetricsRegistry, options: QueueStatsOptions): QueueStats {
  return registry.shared(`queue-stats:${options.schema}`, () => createQueueStats(registry, options));
}

function createQueueStats(registry: MetricsRegistry, options: QueueStatsOptions): QueueStats {
  const { queueStats: statement } = metricsStatements(options.schema);
  const gauges = queueGauges(registry);
  const cache = cachedValue<Snapshot>(options.cacheMs ?? DEFAULT_QUEUE_STATS_CACHE_MS);
  const known = new Set<string>();
  let applied: Snapshot | undefined;
  let reported: unknown;

  const load = async (database: Database): Promise<Snapshot> => {
    const started = Date.now();
    const { rows } = await database.query(statement);
    return { rows, seconds: (Date.now() - started) / 1000 };
  };

  const apply = (snapshot: Snapshot) => {
    for (const row of snapshot.rows) {
      if (typeof row.queue === 'string' && known.size < registry.maxLabelSets) known.add(row.queue);
    }
    gauges.clear();
    for (const queue of known) {
      for (const status of COUNTED) gauges.tasks.labels(queue, status).set(0);
      gauges.due.labels(queue).set(0);
      gauges.oldest.labels(queue).set(0);
    }
    for (const row of snapshot.rows) {
      const count = Number(row.count);
      if (typeof row.queue !== 'string') {
        if (count >= 0) gauges.rows.set(count);
        continue;
      }
      gauges.tasks.labels(row.queue, row.status as string).set(count);
      if (row.status !== 'PENDING') continue;
      gauges.due.labels(row.queue).set(Number(row.due));
      gauges.oldest.labels(row.queue).set(Number(row.oldest_due_age ?? 0));
    }
    gauges.up.set(1);
    gauges.seconds.set(snapshot.seconds);
  };

  return {
    async refresh(database, onError) {
      try {
        const snapshot = await cache.get(() => load(database));
        if (snapshot !== applied) apply(snapshot);
        applied = snapshot;
      } catch (error) {
        applied = undefined;
        gauges.clear();
        gauges.up.set(0);
        if (error === reported) return;
        reported = error;
        onError?.(error);
      }
    },
  };
}

function queueGauges(registry: MetricsRegistry) {
  const gauges = {
    tasks: registry.gauge(
      'task_worker_queue_tasks',
      'Tasks per queue and status (PENDING, PROGRESS, FAILED, CANCELLED; COMPLETED is not counted). Same value on every target: aggregate with max.',
      ['queue', 'status'],
    ),
    due: registry.gauge(
      'task_worker_queue_due_tasks',
      'PENDING tasks that are due now (not delayed, not backing off before a retry).',
      ['queue'],
    ),
    oldest: registry.gauge(
      'task_worker_queue_oldest_due_age_seconds',
      'Seconds the longest-waiting due task of the queue has waited since it became due (0 when none is due).',
      ['queue'],
    ),
    rows: registry.gauge(
      'task_worker_tasks_table_rows_estimate',
      "Rows of the tasks table, every status, as the planner estimates them (updated by autovacuum's analyze).",
    ),
    up: registry.gauge(
      'task_worker_queue_stats_up',
      '1 when the last queue-stats query answered, 0 when it failed.',
    ),
    seconds: registry.gauge(
      'task_worker_queue_stats_query_seconds',
      'How long the last queue-stats query took.',
    ),
  };
  return {
    ...gauges,
    clear() {
      gauges.tasks.reset();
      gauges.due.reset();
      gauges.oldest.reset();
    },
  };
}

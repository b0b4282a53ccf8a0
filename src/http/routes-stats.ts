/**
 * `GET /stats`: task counts per queue and status, and recent throughput. One pass over the
 * whole table (taskStats: ~0.3-0.5 s at 1M rows), so requests that arrive while it runs share
 * it, and `statsCacheSeconds` reuses its answer for a while (src/core/metrics/cached-value.ts,
 * as the queue gauges of `/metrics` do).
 * @module
 */
import type { Hono } from 'hono';
import type { Database, Row } from '../core/database.ts';
import { ConfigError } from '../core/errors.ts';
import { cachedValue } from '../core/metrics/cached-value.ts';
import type { TaskQueryStatements } from '../core/sql/task-query-statements.ts';
import { TASK_STATUSES, type TaskStatus } from '../core/task.ts';

/** Tasks per status; every status is present, zero included. */
export type StatusCounts = Record<TaskStatus, number>;

/** Tasks that reached a final status within the last 1, 5 and 60 minutes. */
export interface Throughput {
  completedLastMinute: number;
  failedLastMinute: number;
  cancelledLastMinute: number;
  completedLast5Minutes: number;
  failedLast5Minutes: number;
  cancelledLast5Minutes: number;
  completedLastHour: number;
  failedLastHour: number;
  cancelledLastHour: number;
}

/** The body of `GET /stats`. */
export interface StatsJson {
  /** Per queue name, per status. Queues without tasks are absent. */
  counts: Record<string, StatusCounts>;
  /** All queues together. */
  totals: StatusCounts;
  /** By `finished_at`, on the database clock. */
  throughput: Throughput;
}

function zeroCounts(): StatusCounts {
  return Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])) as StatusCounts;
}

type FinalStatus = 'COMPLETED' | 'FAILED' | 'CANCELLED';
interface Recent {
  lastMinute: number;
  last5Minutes: number;
  lastHour: number;
}

function throughputOf(recent: Record<FinalStatus, Recent>): Throughput {
  return {
    completedLastMinute: recent.COMPLETED.lastMinute,
    failedLastMinute: recent.FAILED.lastMinute,
    cancelledLastMinute: recent.CANCELLED.lastMinute,
    completedLast5Minutes: recent.COMPLETED.last5Minutes,
    failedLast5Minutes: recent.FAILED.last5Minutes,
    cancelledLast5Minutes: recent.CANCELLED.last5Minutes,
    completedLastHour: recent.COMPLETED.lastHour,
    failedLastHour: recent.FAILED.lastHour,
    cancelledLastHour: recent.CANCELLED.lastHour,
  };
}

/** The option of `createApp` this route reads. */
export interface StatsAppOptions {
  /**
   * Seconds one answer of `GET /stats` is reused (default: 0: every request counts anew, but
   * requests that arrive while a count runs share it). With a big table and many dashboards or
   * pollers, a few seconds keep the full-table count from running once per request.
   */
  statsCacheSeconds?: number;
}

/**
 * Registers `GET /stats` on `app`.
 * @throws ConfigError for a `statsCacheSeconds` that is not 0 or more.
 */
export function registerStatsRoutes(
  app: Hono,
  config: { database: Database; statements: TaskQueryStatements; cacheSeconds?: number },
): void {
  const seconds = config.cacheSeconds ?? 0;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    throw new ConfigError(`statsCacheSeconds must be 0 or more seconds, got ${String(seconds)}.`);
  }
  const cache = cachedValue<Row[]>(seconds * 1000);
  const load = async () => (await config.database.query(config.statements.taskStats)).rows;
  app.get('/stats', async (c) => {
    const rows = await cache.get(load);
    // Queue names are user input: `__proto__` is a valid one, and on a plain object
    // `counts[queue] ??= ...` would then write into Object.prototype.
    const counts = Object.create(null) as Record<string, StatusCounts>;
    const totals = zeroCounts();
    const zero = (): Recent => ({ lastMinute: 0, last5Minutes: 0, lastHour: 0 });
    const recent: Record<FinalStatus, Recent> = { COMPLETED: zero(), FAILED: zero(), CANCELLED: zero() };
    for (const row of rows) {
      const queue = row.queue as string;
      const status = row.status as TaskStatus;
      // int8 arrives as a string (the driver contract); counts stay far below 2^53.
      const count = Number(row.count);
      (counts[queue] ??= zeroCounts())[status] = count;
      totals[status] += count;
      if (status in recent) {
        const windows = recent[status as FinalStatus];
        windows.lastMinute += Number(row.last_1m);
        windows.last5Minutes += Number(row.last_5m);
        windows.lastHour += Number(row.last_60m);
      }
    }
    const body: StatsJson = { counts, totals, throughput: throughputOf(recent) };
    return c.json(body);
  });
}

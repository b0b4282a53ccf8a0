/**
 * `GET /stats`: task counts per queue and status, and recent throughput.
 * @module
 */
import type { Hono } from 'hono';
import type { Database } from '../core/database.ts';
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

/** Registers `GET /stats` on `app`. */
export function registerStatsRoutes(
  app: Hono,
  config: { database: Database; statements: TaskQueryStatements },
): void {
  app.get('/stats', async (c) => {
    const { rows } = await config.database.query(config.statements.taskStats);
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

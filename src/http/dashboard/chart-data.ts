/**
 * The numbers behind the overview's charts, per minute over the last hour.
 *
 * - Throughput and failure rate come from the table (`dashboardThroughput`): every finished
 *   task keeps the time it finished, so the hour can be read back exactly after a restart, on
 *   any replica, and on the edge. Read at most once per `ttlMs` per app, however many pages
 *   are open: a chart by the minute gains nothing from fresher numbers.
 * - Queue depth is sampled by the app: each time the dashboard reads the counts (a page, a
 *   poll, a live refresh) it keeps the largest pending and running counts of that minute. The
 *   table cannot say what the depth was ten minutes ago (it keeps only each task's latest
 *   state: a retry clears its start and finish times, retention deletes rows), and sampling
 *   costs no query of its own. So the chart covers the minutes this app showed a dashboard
 *   (with a live page open: every minute), per process, and starts empty after a restart.
 * @module
 */
import type { Database } from '../../core/database.ts';
import { THROUGHPUT_MINUTES, type DashboardStatements } from '../../core/sql/dashboard-statements.ts';

/** Per-minute values, oldest first; the last entry is the current (partial) minute. */
export interface MinuteSeries<T = number> {
  /** The current minute, in whole minutes since the epoch. */
  endMinute: number;
  values: Record<string, T[]>;
}

/** Tasks that finished per minute: `values.COMPLETED` and `values.FAILED`. */
export type Throughput = MinuteSeries<number>;

/** Largest counts seen per minute: `values.pending`, `values.running`; `null` where not sampled. */
export type DepthHistory = MinuteSeries<number | null>;

/** Reads the throughput of the last hour (one query). */
export async function loadThroughput(
  database: Database,
  statements: DashboardStatements,
): Promise<Throughput> {
  const { rows } = await database.query(statements.dashboardThroughput);
  // int8 arrives as a string (the driver contract); minutes and counts stay far below 2^53.
  const endMinute = Number(rows[0]?.minute);
  const values = {
    COMPLETED: new Array<number>(THROUGHPUT_MINUTES).fill(0),
    FAILED: new Array<number>(THROUGHPUT_MINUTES).fill(0),
  };
  for (const row of rows.slice(1)) {
    const index = THROUGHPUT_MINUTES - 1 - (endMinute - Number(row.minute));
    const series = values[row.status as keyof typeof values];
    // A row finished "in the future" (a worker clock ahead) lands in the current minute.
    if (series && index >= 0) series[Math.min(index, THROUGHPUT_MINUTES - 1)]! += Number(row.count);
  }
  return { endMinute, values };
}

/** Throughput read at most once per `ttlMs`; concurrent callers share one query. */
export function cachedThroughput(
  load: () => Promise<Throughput>,
  ttlMs: number,
  now: () => number = Date.now,
): () => Promise<Throughput> {
  let cached: { at: number; value: Promise<Throughput> } | undefined;
  return () => {
    const at = now();
    if (cached && at - cached.at < ttlMs) return cached.value;
    const value = load();
    const entry = { at, value };
    cached = entry;
    // A failed read is not kept: the next caller asks again.
    value.catch(() => {
      if (cached === entry) cached = undefined;
    });
    return value;
  };
}

/** Keeps the largest pending and running counts of each of the last {@link THROUGHPUT_MINUTES} minutes. */
export class DepthSampler {
  readonly #minutes = new Map<number, { pending: number; running: number }>();

  /** Records counts read at `at` (ms since the epoch). */
  record(pending: number, running: number, at: number = Date.now()): void {
    const minute = Math.floor(at / 60_000);
    const seen = this.#minutes.get(minute);
    if (seen) {
      seen.pending = Math.max(seen.pending, pending);
      seen.running = Math.max(seen.running, running);
    } else {
      this.#minutes.set(minute, { pending, running });
    }
    for (const key of this.#minutes.keys()) {
      if (key <= minute - THROUGHPUT_MINUTES) this.#minutes.delete(key);
    }
  }

  /** The last hour up to `now` (ms since the epoch); `null` for minutes without a sample. */
  history(now: number = Date.now()): DepthHistory {
    const endMinute = Math.floor(now / 60_000);
    const pending: Array<number | null> = [];
    const running: Array<number | null> = [];
    for (let minute = endMinute - THROUGHPUT_MINUTES + 1; minute <= endMinute; minute++) {
      const seen = this.#minutes.get(minute);
      pending.push(seen ? seen.pending : null);
      running.push(seen ? seen.running : null);
    }
    return { endMinute, values: { pending, running } };
  }
}

/**
 * Cancelling a running task anywhere: `cancelTask` on a `PROGRESS` row makes it `CANCELLED`
 * (keeping its lease token) and publishes `task_cancelled` on the task's channel and on the
 * wake-up channels of its queue, which the worker running it listens to already. Two ways
 * reach that worker:
 * - the notification ({@link CancelledRuns.heard}): within milliseconds, when the worker holds
 *   a task of that id;
 * - the heartbeat, the fallback without a notifier or when a message is lost
 *   ({@link CancelledRuns.lost}): within one heartbeat (a third of the lease).
 *
 * Either way the row decides, not the message: a run is cancelled when its row is `CANCELLED`
 * and still carries the run's lease token, so a stale or forged message, or the cancellation of
 * a later attempt, stops nothing. Any other lease the heartbeat did not extend was lost.
 * The runs then stop as running-tasks.ts describes: abort signal, thread killed after the kill
 * grace, nothing written (the row is final; fencing would refuse a write anyway).
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import { taskStatements } from '../../src/core/sql/task-statements.ts';
import type { Logger } from './logger.ts';
import type { ClaimedTask } from './producer.ts';
import type { CancelSource, RunningTasks } from './running-tasks.ts';

export interface CancelledRunsOptions {
  db: Database;
  schema: string;
  running: RunningTasks;
  /** The tasks this worker holds: running, and claimed but not started yet. */
  held: () => readonly ClaimedTask[];
  logger: Logger;
}

export interface CancelledRuns {
  /** A `task_cancelled` notification for `taskId`. Never rejects. */
  heard(taskId: string): Promise<void>;
  /** The heartbeat did not extend these leases: stop the cancelled runs, abort the lost ones. Never rejects. */
  lost(tasks: readonly ClaimedTask[]): Promise<void>;
}

export function cancelledRuns(options: CancelledRunsOptions): CancelledRuns {
  const { db, running, held, logger } = options;
  const { taskGet } = taskStatements(options.schema);

  /** Which of `tasks` were cancelled (their rows); rejects when a row cannot be read. */
  async function cancelledOf(tasks: readonly ClaimedTask[]): Promise<Set<string>> {
    const rows = await Promise.all(tasks.map(async (task) => (await db.query(taskGet, [task.id])).rows[0]));
    const cancelled = new Set<string>();
    tasks.forEach((task, i) => {
      const row = rows[i];
      if (row?.status === 'CANCELLED' && String(row.lease_token) === task.token) cancelled.add(task.token);
    });
    return cancelled;
  }

  /** Stops the runs of `tokens` that this worker still holds (one may have ended meanwhile). */
  function cancel(tasks: readonly ClaimedTask[], tokens: Set<string>, source: CancelSource): void {
    const holding = new Set(held().map((task) => task.token));
    running.cancel(
      tasks.filter((task) => tokens.has(task.token) && holding.has(task.token)),
      source,
    );
  }

  return {
    async heard(taskId) {
      const mine = held().filter((task) => task.id === taskId);
      if (mine.length === 0) return;
      try {
        cancel(mine, await cancelledOf(mine), 'notification');
      } catch (error) {
        // The heartbeat looks again within a third of the lease.
        logger.log('warn', 'cancel_check_failed', { taskId, error: String(error) });
      }
    },

    async lost(tasks) {
      let cancelled: Set<string>;
      try {
        cancelled = await cancelledOf(tasks);
      } catch (error) {
        logger.log('warn', 'cancel_check_failed', { error: String(error) });
        running.abortLost(tasks, 'cancelled or lease lost');
        return;
      }
      cancel(tasks, cancelled, 'heartbeat');
      running.abortLost(tasks.filter((task) => !cancelled.has(task.token)));
    },
  };
}

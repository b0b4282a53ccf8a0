/**
 * Putting tasks back: owned tasks return to `PENDING` as they were (no retry used), fenced by
 * attempt, worker and lease token, and other workers are woken for them. Used for tasks claimed after a
 * stop request, buffered ones at shutdown, and running ones when the grace ends.
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import { createTaskEvent } from '../../src/core/events/task-events.ts';
import type { WorkerStatements } from '../../src/core/sql/worker-statements.ts';
import type { Logger } from './logger.ts';
import type { ClaimedTask } from './producer.ts';
import type { TaskEventPublisher } from './task-event-publisher.ts';

export interface PutBackOptions {
  db: Database;
  sql: WorkerStatements;
  workerId: string;
  now: () => string | null;
  logger: Logger;
  publisher: TaskEventPublisher;
  /** Tasks went back to `PENDING` (the due hint counts a change); awaited, never rejects. */
  onPutBack?: () => Promise<void>;
}

/** Puts tasks back. Never rejects: on failure the sweep recovers them when their lease expires. */
export type PutBack = (tasks: readonly ClaimedTask[]) => Promise<void>;

export function createPutBack(options: PutBackOptions): PutBack {
  const { db, sql, workerId, now, logger, publisher } = options;
  return async (tasks) => {
    if (tasks.length === 0) return;
    try {
      const { rows } = await db.query(sql.taskPutBack, [
        tasks.map((t) => t.id),
        tasks.map((t) => t.attempt),
        workerId,
        now(),
        tasks.map((t) => t.token),
      ]);
      logger.log('warn', 'tasks_put_back', { count: rows.length, taskIds: rows.map((r) => r.id) });
      if (publisher.enabled) {
        publisher.publish(
          rows.map((row) =>
            createTaskEvent('task_requeued', { id: row.id as string, queue: row.queue as string }),
          ),
        );
      }
      if (rows.length > 0) await options.onPutBack?.();
    } catch (error) {
      logger.log('error', 'put_back_failed', {
        error: String(error),
        note: 'the sweeper will recover these tasks when their lease expires',
        taskIds: tasks.map((t) => t.id),
      });
    }
  };
}

/**
 * `retryTask`'s database side: moves a final task back to `PENDING` and turns what the
 * statement reports into the client's errors (not found, not final, uniqueKey taken).
 * @module
 */
import { DatabaseError, SqlState, type Database, type Row } from '../database.ts';
import { TaskNotFoundError, TaskWorkerError } from '../errors.ts';
import { isFinalStatus, taskFromRow, type Task } from '../task.ts';
import { assertTaskId } from '../task-id.ts';

/**
 * Runs `taskRetry` (the statement) for task `id` and returns the requeued task.
 * @throws TaskNotFoundError, or TaskWorkerError `TASK_NOT_FINAL` / `UNIQUE_KEY_CONFLICT`.
 */
export async function requeueFinalTask(db: Database, taskRetry: string, id: string): Promise<Task> {
  let row: Row | undefined;
  try {
    [row] = (await db.query(taskRetry, [assertTaskId(id)])).rows;
  } catch (error) {
    if (error instanceof DatabaseError && error.code === SqlState.uniqueViolation) {
      throw new TaskWorkerError(
        'UNIQUE_KEY_CONFLICT',
        `Task ${id} cannot be retried: another unfinished task has its uniqueKey.`,
      );
    }
    throw error;
  }
  if (!row) throw new TaskNotFoundError(id);
  const task = taskFromRow(row);
  if (row.changed !== true) {
    throw new TaskWorkerError(
      'TASK_NOT_FINAL',
      isFinalStatus(task.status)
        ? `Task ${id} changed while it was being retried; try again.`
        : `Task ${id} is ${task.status}; only COMPLETED, FAILED or CANCELLED tasks can be retried.`,
    );
  }
  return task;
}

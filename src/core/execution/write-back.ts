/**
 * Fenced, batched write-back of task outcomes: all completions in one statement, all
 * failures in another. Shared by the container worker's completer and the inline executor.
 * @module
 */
import type { Database } from '../database.ts';
import { createTaskEvent, type TaskEvent } from '../events/task-events.ts';
import type { RetryBackoff } from '../retry-policy.ts';
import type { WorkerStatements } from '../sql/worker-statements.ts';
import type { SerializedError } from '../task-error.ts';

/** One task outcome to record. `json` is the result as JSON text. */
export type WriteBack =
  | { kind: 'complete'; id: string; attempt: number; name: string; json: string; duration: number }
  | {
      kind: 'fail';
      id: string;
      attempt: number;
      name: string;
      error: SerializedError;
      duration: number;
      retryable: boolean;
    };

/** What a write-back did. */
export interface Landed {
  item: WriteBack;
  /** What the task became: COMPLETED, PENDING (retry) or FAILED; null when fencing refused it. */
  status: 'COMPLETED' | 'PENDING' | 'FAILED' | null;
  queue?: string;
  runAt?: Date;
}

export interface WriteBackContext {
  db: Database;
  sql: WorkerStatements;
  workerId: string;
  backoff: RetryBackoff;
  /** ISO time, or null for the database clock. */
  now: string | null;
}

/** Writes a batch of outcomes (at most two statements) and reports what landed. */
export async function writeBack(context: WriteBackContext, batch: readonly WriteBack[]): Promise<Landed[]> {
  const { db, sql, workerId, now, backoff } = context;
  const completes = batch.filter((item) => item.kind === 'complete');
  const fails = batch.filter((item) => item.kind === 'fail');
  const [completed, failed] = await Promise.all([
    completes.length === 0
      ? undefined
      : db.query(
          sql.taskCompleteMany,
          [
            // Results are already JSON text: spliced in, not parsed and serialised again.
            `[${completes
              .map(
                (c) =>
                  `{"id":${JSON.stringify(c.id)},"attempt":${c.attempt},"result":${c.json},"duration":${c.duration}}`,
              )
              .join(',')}]`,
            workerId,
            now,
          ],
          { prepare: true },
        ),
    fails.length === 0
      ? undefined
      : db.query(
          sql.taskFailMany,
          [
            JSON.stringify(
              fails.map((f) => ({
                id: f.id,
                attempt: f.attempt,
                error: f.error.message,
                error_type: f.error.type,
                error_stack: f.error.stack,
                duration: f.duration,
                retryable: f.retryable,
              })),
            ),
            workerId,
            now,
            backoff.baseSeconds,
            backoff.maxSeconds,
          ],
          { prepare: true },
        ),
  ]);
  const landed: Landed[] = [];
  const completedRows = new Map((completed?.rows ?? []).map((row) => [row.id as string, row]));
  for (const item of completes) {
    const row = completedRows.get(item.id);
    landed.push({ item, status: row ? 'COMPLETED' : null, queue: row?.queue as string | undefined });
  }
  const failedRows = new Map((failed?.rows ?? []).map((row) => [row.id as string, row]));
  for (const item of fails) {
    const row = failedRows.get(item.id);
    landed.push({
      item,
      status: row ? (row.status as 'PENDING' | 'FAILED') : null,
      queue: row?.queue as string | undefined,
      runAt: row?.run_at as Date | undefined,
    });
  }
  return landed;
}

/** The task events of what landed (refused write-backs announce nothing). */
export function landedTaskEvents(landed: readonly Landed[]): TaskEvent[] {
  return landed.flatMap(({ item, status, queue }) => {
    if (status === null || queue === undefined) return [];
    const event =
      status === 'COMPLETED' ? 'task_finished' : status === 'PENDING' ? 'task_requeued' : 'task_failed';
    return [createTaskEvent(event, { id: item.id, queue, name: item.name, attempt: item.attempt })];
  });
}

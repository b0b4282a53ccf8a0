/**
 * The sweeper: returns tasks whose lease expired (their worker crashed, was killed or lost its
 * connection) to `PENDING` with back-off, or to `FAILED` when no retries are left. Runs in
 * every container worker on an interval, as `task-worker sweep`, and in the Cloudflare cron.
 * Safe to run from many places at once (`FOR UPDATE SKIP LOCKED`). Edge-safe.
 * @module
 */
import type { Database } from '../database.ts';
import { DEFAULT_RETRY_BACKOFF, type RetryBackoff } from '../retry-policy.ts';
import { DEFAULT_SCHEMA } from '../schema-name.ts';
import { workerStatements } from '../sql/worker-statements.ts';
import type { TaskStatus } from '../task.ts';
import { taskIdFloor } from '../task-id.ts';

export interface SweepOptions {
  /** (default: task_worker) */
  schema?: string;
  /** Most tasks recovered per statement (default: 1000). */
  batchSize?: number;
  /** Clock for tests (default: the database clock). */
  now?: Date;
  backoff?: RetryBackoff;
}

/** One task the sweeper moved. */
export interface SweptTask {
  id: string;
  status: TaskStatus;
  queue: string;
  name: string;
  attempt: number;
  /** The worker that lost it, for tasks that went to `FAILED` (null when requeued). */
  workerId: string | null;
}

/**
 * Retention: deletes final tasks created more than `days` ago, in batches, oldest first.
 * Returns how many were deleted. `now` is injectable for tests (default: `Date.now()`).
 */
export async function deleteFinishedTasks(
  db: Database,
  options: { days: number; schema?: string; batchSize?: number; now?: number },
): Promise<number> {
  const sql = workerStatements(options.schema ?? DEFAULT_SCHEMA);
  const floor = taskIdFloor((options.now ?? Date.now()) - options.days * 86_400_000);
  const batchSize = options.batchSize ?? 1000;
  let deleted = 0;
  for (;;) {
    const { rowCount } = await db.query(sql.taskDeleteFinished, [floor, batchSize]);
    deleted += rowCount;
    if (rowCount < batchSize) return deleted;
  }
}

/** Recovers every expired lease (in batches) and returns what moved. */
export async function sweepExpiredTasks(db: Database, options: SweepOptions = {}): Promise<SweptTask[]> {
  const sql = workerStatements(options.schema ?? DEFAULT_SCHEMA);
  const batchSize = options.batchSize ?? 1000;
  const backoff = options.backoff ?? DEFAULT_RETRY_BACKOFF;
  const swept: SweptTask[] = [];
  for (;;) {
    const { rows } = await db.query(sql.taskSweepExpired, [
      batchSize,
      options.now?.toISOString() ?? null,
      backoff.baseSeconds,
      backoff.maxSeconds,
    ]);
    for (const row of rows) {
      swept.push({
        id: row.id as string,
        status: row.status as TaskStatus,
        queue: row.queue as string,
        name: row.name as string,
        attempt: row.attempt as number,
        workerId: (row.worker_id as string | null) ?? null,
      });
    }
    if (rows.length < batchSize) return swept;
  }
}

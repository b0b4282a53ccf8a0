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
  /**
   * The maintainer's holder id: each batch moves nothing unless it holds the leader lease, so a
   * leader that lost its lease mid-pass stops (default: none, an operator's unfenced run).
   */
  leader?: string;
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

export interface RetentionOptions {
  /** Final tasks created more than this many days ago are deleted. */
  days: number;
  /** (default: task_worker) */
  schema?: string;
  /** Most tasks deleted per statement (default: 1000). */
  batchSize?: number;
  /**
   * Most statements per call (default: unlimited): a pass stays short, and the rest waits for
   * the next pass, so a big backlog never holds a long delete or bloats the table at once.
   */
  maxBatches?: number;
  /** Clock for tests (default: `Date.now()`). */
  now?: number;
  /** The maintainer's holder id, as in `SweepOptions.leader`. */
  leader?: string;
}

/** What one retention call did. */
export interface RetentionResult {
  deleted: number;
  /** False when it stopped at `maxBatches` (or lost the lease) with more possibly left. */
  done: boolean;
}

/**
 * Retention: deletes final tasks created more than `days` ago, in batches, oldest first,
 * skipping rows locked elsewhere.
 */
export async function deleteFinishedTasksInBatches(
  db: Database,
  options: RetentionOptions,
): Promise<RetentionResult> {
  const sql = workerStatements(options.schema ?? DEFAULT_SCHEMA);
  const time = options.now ?? Date.now();
  const floor = taskIdFloor(time - options.days * 86_400_000);
  const batchSize = options.batchSize ?? 1000;
  const now = options.now === undefined ? null : new Date(time).toISOString();
  let deleted = 0;
  for (let batch = 0; batch < (options.maxBatches ?? Infinity); batch++) {
    const { rowCount } = await db.query(sql.taskDeleteFinished, [
      floor,
      batchSize,
      options.leader ?? null,
      now,
    ]);
    deleted += rowCount;
    if (rowCount < batchSize) return { deleted, done: true };
  }
  return { deleted, done: false };
}

/** Retention, every batch until none is left; returns how many were deleted. */
export async function deleteFinishedTasks(db: Database, options: RetentionOptions): Promise<number> {
  return (await deleteFinishedTasksInBatches(db, { ...options, maxBatches: undefined })).deleted;
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
      options.leader ?? null,
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

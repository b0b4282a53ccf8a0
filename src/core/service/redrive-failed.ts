/**
 * Dead letters: `redriveFailed` retries every `FAILED` task matching a filter, in batches, and
 * `failureReasons` groups them by error type. Edge-safe; the SQL is in
 * src/core/sql/redrive-statements.ts.
 *
 * A redrive first counts the matching tasks and notes the newest one's id, then moves them back
 * to `PENDING` oldest first, exactly as `retryTask` does (due now, fresh retry budget, `attempt`
 * and `errorHistory` kept), in statements of at most {@link REDRIVE_BATCH_SIZE} tasks, each its
 * own short transaction that skips rows locked elsewhere. Only tasks that had failed when the
 * call started are moved, so a redriven task that fails again at once is not picked up twice. A
 * task whose uniqueKey another unfinished task holds is skipped and reported, not an error.
 * @module
 */
import { DatabaseError, SqlState, type Database, type Row } from '../database.ts';
import { TaskValidationError, TaskWorkerError } from '../errors.ts';
import { createTaskEvent, type TaskEvent } from '../events/task-events.ts';
import { redriveStatements, type RedriveStatements } from '../sql/redrive-statements.ts';
import {
  checkFailedFilters,
  checkLimit,
  filterParams,
  type CheckedFilters,
  type FailedTaskFilters,
} from './failed-filters.ts';

export type { FailedTaskFilters } from './failed-filters.ts';

/** Options of `redriveFailed`: the filters, how many to move, and whether only to count. */
export interface RedriveFailedOptions extends FailedTaskFilters {
  /** Most tasks to move back to `PENDING` (default: 1,000; at most 100,000). */
  limit?: number;
  /** Only count the matching tasks; change nothing (default: false). */
  dryRun?: boolean;
}

/** What `redriveFailed` did. */
export interface RedriveFailedResult {
  /** `FAILED` tasks that matched the filters when the call started (not capped by `limit`). */
  matched: number;
  /** Tasks moved back to `PENDING`. */
  redriven: number;
  /** Matching tasks left `FAILED` because another unfinished task holds their uniqueKey. */
  skipped: number;
  /** Ids of the redriven tasks, oldest first. */
  taskIds: string[];
  /** Ids of the skipped tasks, oldest first. */
  skippedTaskIds: string[];
  /** True when nothing was changed (`dryRun`). */
  dryRun: boolean;
}

/** Options of `failureReasons`: the filters and how many groups to return. */
export interface FailureReasonsOptions extends FailedTaskFilters {
  /** Most groups to return, biggest first (default: 20; at most 100). */
  limit?: number;
}

/** The matching `FAILED` tasks with one error type. */
export interface FailureReason {
  /** The error's type (its name, e.g. `TypeError`); `null` for tasks failed without one. */
  errorType: string | null;
  count: number;
  /** When the latest of them failed. */
  lastSeenAt: Date | null;
  /** The newest of them (by id, i.e. creation), whose message is the sample. */
  sampleTaskId: string;
  /** Its error message, first 500 characters. */
  sampleError: string | null;
}

/** The dead-letter calls of the client. */
export interface DeadLetterClient {
  /**
   * Moves up to `limit` `FAILED` tasks matching the filters back to `PENDING`, oldest first,
   * as `retryTask` does; a task whose uniqueKey another unfinished task holds is skipped.
   * `dryRun` only counts. Workers get a `task_requeued` wake-up per queue and batch.
   * @throws TaskValidationError for a bad filter or limit.
   */
  redriveFailed(options?: RedriveFailedOptions): Promise<RedriveFailedResult>;
  /** The matching `FAILED` tasks grouped by error type, biggest group first. */
  failureReasons(options?: FailureReasonsOptions): Promise<FailureReason[]>;
}

/** What the dead-letter calls need from the client. */
export interface DeadLetterDeps {
  db: Database;
  schema: string;
  /** Publishes events after a commit (the client's publisher: never throws). */
  publish: (events: TaskEvent[]) => Promise<void>;
  /** Counts a change in the due hint (the client's marker: never throws). */
  markChange: () => Promise<void>;
}

/** Most tasks one redrive statement locks and moves. */
export const REDRIVE_BATCH_SIZE = 1000;
/** `redriveFailed`'s `limit` when none is given, and its largest. */
export const REDRIVE_LIMITS = { default: 1000, max: 100_000 } as const;
/** `failureReasons`' `limit` when none is given, and its largest. */
export const FAILURE_REASON_LIMITS = { default: 20, max: 100 } as const;
// A batch that meets a uniqueKey holder committed between its check and its update fails; run
// again, it sees the holder and skips the task. A key fought over this hard is a conflict.
const UNIQUE_RETRIES = 3;

interface Batch {
  moved: Row[];
  skipped: string[];
  /** The last id the batch looked at; `null` when it looked at none. */
  last: string | null;
}

async function runBatch(db: Database, sql: RedriveStatements, params: unknown[]): Promise<Batch> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { rows } = await db.query(sql.failedTaskRedrive, params);
      const moved = rows.filter((row) => row.moved === true);
      const skipped = rows.filter((row) => row.moved !== true).map((row) => row.id as string);
      let last: string | null = null;
      for (const row of rows) if (last === null || (row.id as string) > last) last = row.id as string;
      return { moved, skipped, last };
    } catch (error) {
      const unique = error instanceof DatabaseError && error.code === SqlState.uniqueViolation;
      if (!unique) throw error;
      if (attempt >= UNIQUE_RETRIES) {
        throw new TaskWorkerError(
          'UNIQUE_KEY_CONFLICT',
          'Failed tasks could not be redriven: their uniqueKeys kept being taken by new tasks; try again.',
          { cause: error },
        );
      }
    }
  }
}

/** One `task_requeued` per queue: the wake-up, as `taskCreatedEvents` does for a bulk insert. */
function wakeUps(rows: readonly Row[]): TaskEvent[] {
  const at = new Date();
  const byQueue = new Map<string, TaskEvent>();
  for (const row of rows) {
    const queue = row.queue as string;
    if (byQueue.has(queue)) continue;
    const task = { id: row.id as string, queue, name: row.name as string, attempt: row.attempt as number };
    byQueue.set(queue, createTaskEvent('task_requeued', task, at));
  }
  return [...byQueue.values()];
}

async function redrive(
  deps: DeadLetterDeps,
  sql: RedriveStatements,
  filters: CheckedFilters,
  through: string,
  limit: number,
): Promise<{ taskIds: string[]; skippedTaskIds: string[] }> {
  const taskIds: string[] = [];
  const skippedTaskIds: string[] = [];
  let after: string | null = null;
  try {
    while (taskIds.length < limit) {
      const size = Math.min(REDRIVE_BATCH_SIZE, limit - taskIds.length);
      const batch = await runBatch(deps.db, sql, [...filterParams(filters), after, through, size]);
      taskIds.push(...batch.moved.map((row) => row.id as string));
      skippedTaskIds.push(...batch.skipped);
      // Each batch committed on its own: its workers may start while the next one runs.
      await deps.publish(wakeUps(batch.moved));
      if (batch.moved.length + batch.skipped.length < size || batch.last === null) break;
      after = batch.last;
    }
  } finally {
    // One change however many batches, also when a later batch failed after earlier ones moved.
    if (taskIds.length > 0) await deps.markChange();
  }
  return { taskIds: taskIds.sort(), skippedTaskIds: skippedTaskIds.sort() };
}

function reasonFromRow(row: Row): FailureReason {
  const lastSeen = row.last_seen;
  return {
    errorType: (row.error_type as string | null) ?? null,
    count: Number(row.count),
    lastSeenAt: lastSeen === null || lastSeen === undefined ? null : new Date(lastSeen as string | Date),
    sampleTaskId: row.sample_id as string,
    sampleError: (row.sample_error as string | null) ?? null,
  };
}

function checkDryRun(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') {
    throw new TaskValidationError(
      'INVALID_OPTIONS',
      'dryRun',
      `dryRun must be true or false, got ${typeof value}.`,
    );
  }
  return value;
}

/** The dead-letter calls over the client's database, publisher and due-hint marker. */
export function createDeadLetterClient(deps: DeadLetterDeps): DeadLetterClient {
  const sql = redriveStatements(deps.schema);
  return {
    async redriveFailed(options) {
      const filters = checkFailedFilters(options, ['limit', 'dryRun']);
      const limit = checkLimit(options?.limit, REDRIVE_LIMITS.default, REDRIVE_LIMITS.max);
      const dryRun = checkDryRun(options?.dryRun);
      const { rows } = await deps.db.query(sql.failedTaskCount, filterParams(filters));
      const matched = Number(rows[0]?.matched ?? 0);
      const through = (rows[0]?.last_id as string | null | undefined) ?? null;
      const result = { matched, redriven: 0, skipped: 0, taskIds: [], skippedTaskIds: [], dryRun };
      if (dryRun || through === null) return result;
      const { taskIds, skippedTaskIds } = await redrive(deps, sql, filters, through, limit);
      return { ...result, redriven: taskIds.length, skipped: skippedTaskIds.length, taskIds, skippedTaskIds };
    },

    async failureReasons(options) {
      const filters = checkFailedFilters(options, ['limit']);
      const limit = checkLimit(options?.limit, FAILURE_REASON_LIMITS.default, FAILURE_REASON_LIMITS.max);
      const { rows } = await deps.db.query(sql.failedTaskReasons, [...filterParams(filters), limit]);
      return rows.map(reasonFromRow);
    },
  };
}

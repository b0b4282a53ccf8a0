/**
 * The task model.
 *
 * Glossary:
 * - task: one row of `<schema>.tasks`; a request to run a registered handler once.
 * - attempt: the fencing token; incremented on every claim, so a worker's write-back only
 *   lands while `(id, attempt, worker_id)` still matches the row.
 * - lease: `lease_until`; a `PROGRESS` task whose lease passed belongs to nobody and is
 *   returned to `PENDING` (or `FAILED`) by the sweeper.
 * - retry: a failed attempt put back to `PENDING` with back-off while `retry_count < max_retries`.
 * @module
 */
import type { Row } from './database.ts';

/** Every status a task can have. `COMPLETED`, `FAILED` and `CANCELLED` are final. */
export const TASK_STATUSES = ['PENDING', 'PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;

/** Where a task is in its life. */
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Statuses after which nothing happens to a task unless someone retries it explicitly. */
export const FINAL_STATUSES: readonly TaskStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

/** True for `COMPLETED`, `FAILED` and `CANCELLED`. */
export function isFinalStatus(status: TaskStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/** A JSON value, as stored in `args`, `kwargs`, `result` and `progress`. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One failed attempt, kept in `errorHistory` (most recent last, bounded). */
export interface TaskAttemptError {
  attempt: number;
  message: string;
  type: string | null;
  at: string;
}

/** A task as stored, with the table's columns in camelCase. */
export interface Task {
  /** 22 URL-safe characters, time-ordered. */
  id: string;
  /** Registered handler name, e.g. `app.tasks.multiply_numbers`. */
  name: string;
  args: JsonValue[];
  kwargs: Record<string, JsonValue>;
  queue: string;
  /** Higher runs first. */
  priority: number;
  status: TaskStatus;
  /** Seconds before the run is stopped; `null` for no timeout. */
  timeout: number | null;
  /** Retries used so far. */
  retryCount: number;
  /** Retries allowed; `null` means the worker's `--retry` default. */
  maxRetries: number | null;
  /** Not run before this time. */
  runAt: Date;
  /** The handler's return value (JSON), once `COMPLETED`. */
  result: JsonValue | null;
  /** Last error message. */
  error: string | null;
  errorType: string | null;
  errorStack: string | null;
  errorHistory: TaskAttemptError[];
  /** Last value the handler reported with `ctx.progress(...)`. */
  progress: JsonValue | null;
  /** Deduplication key (its `uniqueMode` says what holds it; default: an unfinished task). */
  uniqueKey: string | null;
  /** Flow control: at most `concurrencyKeyLimit` tasks with this key run at once in the queue. */
  concurrencyKey: string | null;
  /** How many tasks with `concurrencyKey` may run at once; null without a key. */
  concurrencyKeyLimit: number | null;
  leaseUntil: Date | null;
  workerId: string | null;
  /** Fencing token: how many times the task has been claimed. */
  attempt: number;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Seconds spent on the last run. */
  duration: number | null;
}

/** Maps a `tasks` row (snake_case, as every driver returns it) to a {@link Task}. */
export function taskFromRow(row: Row): Task {
  return {
    id: row.id as string,
    name: row.name as string,
    args: row.args as JsonValue[],
    kwargs: row.kwargs as Record<string, JsonValue>,
    queue: row.queue as string,
    priority: row.priority as number,
    status: row.status as TaskStatus,
    timeout: row.timeout as number | null,
    retryCount: row.retry_count as number,
    maxRetries: row.max_retries as number | null,
    runAt: row.run_at as Date,
    result: (row.result ?? null) as JsonValue | null,
    error: row.error as string | null,
    errorType: row.error_type as string | null,
    errorStack: row.error_stack as string | null,
    errorHistory: (row.error_history ?? []) as TaskAttemptError[],
    progress: (row.progress ?? null) as JsonValue | null,
    // Tasks of uniqueMode pending, throttle and debounce keep their key in dedup_key (0009).
    uniqueKey: (row.unique_key ?? row.dedup_key ?? null) as string | null,
    concurrencyKey: (row.concurrency_key ?? null) as string | null,
    concurrencyKeyLimit: (row.concurrency_key_limit ?? null) as number | null,
    leaseUntil: row.lease_until as Date | null,
    workerId: row.worker_id as string | null,
    attempt: row.attempt as number,
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
    startedAt: row.started_at as Date | null,
    finishedAt: row.finished_at as Date | null,
    duration: row.duration as number | null,
  };
}

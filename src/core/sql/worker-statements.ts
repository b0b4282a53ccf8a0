/**
 * SQL of the executors (container worker and Cloudflare cron): claim, heartbeat, complete,
 * fail, put back, sweep, progress. Each is one statement; the write-backs are fenced by
 * `(id, attempt, worker_id)` and batched (one JSON array param of many tasks).
 *
 * Every statement takes "now" as a parameter that may be null: null means the database clock
 * (production); tests inject a time so back-off is checked without sleeping.
 * @module
 */
import { quoteSchema } from '../schema-name.ts';

/** How many errors `error_history` keeps per task (most recent last). */
export const ERROR_HISTORY_LENGTH = 10;

// Retry back-off, in seconds, for the n-th retry (retry_count before it is incremented):
// base * 2^n, capped, with "equal jitter" (half fixed, half random) so that a burst of
// failures does not come back as a burst. Params: base seconds, cap seconds.
const backoff = (retryCount: string, base: string, cap: string) =>
  `(least(${cap}::float8, ${base}::float8 * power(2, least(${retryCount}, 30))) * (0.5 + random() / 2))`;

// A retry goes after fresh tasks that were created before it became due again: queue position
// is created_at for fresh tasks and run_at for retries (matches tasks_claim_idx).
const position = (alias = '') =>
  `(case when ${alias}retry_count = 0 then ${alias}created_at else ${alias}run_at end)`;

// The error history after one more error: the last ERROR_HISTORY_LENGTH entries.
const history = (attempt: string, message: string, type: string, now: string) =>
  `jsonb_path_query_array(t.error_history || jsonb_build_array(jsonb_build_object(
       'attempt', ${attempt}, 'message', left(${message}, 2000), 'type', ${type}, 'at', ${now})),
       '$[last-${ERROR_HISTORY_LENGTH - 1} to last]')`;

export interface WorkerStatements {
  /**
   * Claims up to $1 due `PENDING` tasks in priority / queue-position order for worker $2 with
   * a lease of $3 seconds, filling a null `max_retries` with the worker default $4; $5 = now.
   * `…ForQueues` adds $6 = text[] of queues. Rows come back in no particular order, with
   * `position_us` (the queue position in epoch microseconds, int8) to sort them by. `args` and
   * `kwargs` come as JSON text (`args_json`, `kwargs_json`): parsed where the handler runs,
   * which for the thread pool is the execution thread, not the worker's main thread.
   *
   * The claim commits asynchronously (`synchronous_commit` off for its own transaction only):
   * it does not wait for its WAL to reach the disk, about a quarter of a millisecond per claim
   * on the bench machine. A claim is the one write that may be lost: if Postgres crashes in the
   * next fraction of a second, the task is `PENDING` again after recovery and runs again, which
   * at-least-once execution allows, and the write-backs stay fenced by `(id, attempt,
   * worker_id)`: one run's outcome lands, the other's is dropped, as after a lost lease.
   * Inserts, completions, failures and put-backs stay synchronous: what a caller can observe
   * as done is on disk.
   */
  readonly taskClaim: string;
  readonly taskClaimForQueues: string;
  /** Extends the lease of the tasks $1 (text[]) at attempts $2 (int[]) still owned by worker $3 to now ($5) + $4 s; returns the ids still owned. */
  readonly taskHeartbeat: string;
  /** Completes tasks from $1 = JSON `[{id, attempt, result, duration}]` owned by worker $2; $3 = now. Returns the ids that landed. */
  readonly taskCompleteMany: string;
  /**
   * Fails tasks from $1 = JSON `[{id, attempt, error, error_type, error_stack, duration, retryable}]`
   * owned by worker $2: back to `PENDING` with back-off while retries are left and the error is
   * retryable, else `FAILED`. $3 = now, $4 = back-off base s, $5 = back-off cap s.
   */
  readonly taskFailMany: string;
  /** Puts tasks $1 (text[]) at attempts $2 (int[]) owned by worker $3 back to `PENDING` as they were (no retry used); $4 = now. */
  readonly taskPutBack: string;
  /**
   * Recovers up to $1 `PROGRESS` tasks whose lease expired before now ($2): back to `PENDING`
   * with back-off while retries are left, else `FAILED`. $3 = back-off base s, $4 = cap s.
   */
  readonly taskSweepExpired: string;
  /** Stores progress $4 (JSON) on task $1 at attempt $2 owned by worker $3. */
  readonly taskProgress: string;
  /**
   * Refreshes planner statistics. Run at worker start: a claim planned on stale statistics
   * (a burst of tasks since the last autovacuum) sorts every pending row instead of walking
   * the claim index, measured at 19 ms instead of 1 ms per claim with 20k pending.
   */
  readonly taskTableAnalyze: string;
  /**
   * Retention: deletes up to $2 final tasks (COMPLETED, FAILED, CANCELLED) created before the
   * id $1 (see `taskIdFloor`), oldest first. Walks the primary key (ids are time-ordered), so
   * it needs no index of its own; unfinished old tasks are skipped, never deleted.
   */
  readonly taskDeleteFinished: string;
}

/** Builds the executor statements for `schema`. */
export function workerStatements(schema: string): WorkerStatements {
  const tasks = `${quoteSchema(schema)}.tasks`;
  return { ...claimStatements(tasks), ...writeBackStatements(tasks), ...maintenanceStatements(tasks) };
}

/** The claim, for all queues or some; `tasks` is the quoted table. */
function claimStatements(tasks: string): Pick<WorkerStatements, 'taskClaim' | 'taskClaimForQueues'> {
  // `id = any(array(...))` rather than a join with a CTE: with tens of thousands pending the
  // planner hash-joined the CTE against the whole table (measured ~5 of 10 ms per 500-task
  // claim); the array form always looks rows up by primary key.
  const claim = (queueFilter: string) => `
update ${tasks} t
set status = 'PROGRESS',
    attempt = t.attempt + 1,
    worker_id = $2,
    lease_until = coalesce($5::timestamptz, now()) + make_interval(secs => $3::float8),
    started_at = coalesce($5::timestamptz, now()),
    updated_at = coalesce($5::timestamptz, now()),
    max_retries = coalesce(t.max_retries, $4::int)
where t.id = any(array(
  select id from ${tasks}
  where status = 'PENDING' and run_at <= coalesce($5::timestamptz, now())${queueFilter}
  order by priority desc, ${position()}, id
  limit $1
  for update skip locked
))
  and (select set_config('synchronous_commit', 'off', true)) = 'off'
returning t.id, t.name, t.args::text as args_json, t.kwargs::text as kwargs_json, t.queue, t.priority,
          t.timeout, t.attempt, t.max_retries,
          (extract(epoch from ${position('t.')}) * 1000000)::int8 as position_us`;
  return {
    taskClaim: claim(''),
    taskClaimForQueues: claim(' and queue = any($6::text[])'),
  };
}

/** What a worker writes while it holds tasks: leases, outcomes, put-backs, progress. */
function writeBackStatements(
  tasks: string,
): Pick<
  WorkerStatements,
  'taskHeartbeat' | 'taskCompleteMany' | 'taskFailMany' | 'taskPutBack' | 'taskProgress'
> {
  return {
    taskHeartbeat: `
update ${tasks} t
set lease_until = coalesce($5::timestamptz, now()) + make_interval(secs => $4::float8)
from unnest($1::text[], $2::int[]) as owned(id, attempt)
where t.id = owned.id and t.attempt = owned.attempt and t.worker_id = $3 and t.status = 'PROGRESS'
returning t.id`,
    taskCompleteMany: `
with input as (
  select * from jsonb_to_recordset($1::jsonb) as x(id text, attempt int, result jsonb, duration float8)
)
update ${tasks} t
set status = 'COMPLETED', result = input.result, duration = input.duration,
    finished_at = coalesce($3::timestamptz, now()), updated_at = coalesce($3::timestamptz, now()),
    lease_until = null
from input
where t.id = input.id and t.attempt = input.attempt and t.worker_id = $2 and t.status = 'PROGRESS'
returning t.id, t.queue, t.name, t.attempt`,
    taskFailMany: `
with input as (
  select x.*, x.retryable and t.retry_count < coalesce(t.max_retries, 0) as retry
  from jsonb_to_recordset($1::jsonb) as x(
    id text, attempt int, error text, error_type text, error_stack text, duration float8, retryable boolean)
  join ${tasks} t on t.id = x.id
)
update ${tasks} t
set status = case when input.retry then 'PENDING' else 'FAILED' end,
    retry_count = t.retry_count + case when input.retry then 1 else 0 end,
    run_at = case when input.retry
                  then coalesce($3::timestamptz, now()) + make_interval(secs => ${backoff('t.retry_count', '$4', '$5')})
                  else t.run_at end,
    finished_at = case when input.retry then null else coalesce($3::timestamptz, now()) end,
    worker_id = case when input.retry then null else t.worker_id end,
    error = input.error, error_type = input.error_type, error_stack = input.error_stack,
    error_history = ${history('t.attempt', 'input.error', 'input.error_type', 'coalesce($3::timestamptz, now())')},
    duration = input.duration, lease_until = null, updated_at = coalesce($3::timestamptz, now())
from input
where t.id = input.id and t.attempt = input.attempt and t.worker_id = $2 and t.status = 'PROGRESS'
returning t.id, t.status, t.queue, t.name, t.attempt, t.run_at`,
    taskPutBack: `
update ${tasks} t
set status = 'PENDING', worker_id = null, lease_until = null, started_at = null,
    updated_at = coalesce($4::timestamptz, now())
from unnest($1::text[], $2::int[]) as owned(id, attempt)
where t.id = owned.id and t.attempt = owned.attempt and t.worker_id = $3 and t.status = 'PROGRESS'
returning t.id, t.queue, t.name, t.attempt`,
    taskProgress: `
update ${tasks} t set progress = $4::jsonb
where t.id = $1 and t.attempt = $2 and t.worker_id = $3 and t.status = 'PROGRESS'
returning t.id`,
  };
}

/** The maintainer's statements: expired leases, planner statistics, retention. */
function maintenanceStatements(
  tasks: string,
): Pick<WorkerStatements, 'taskSweepExpired' | 'taskTableAnalyze' | 'taskDeleteFinished'> {
  return {
    taskSweepExpired: `
with expired as (
  select id from ${tasks}
  where status = 'PROGRESS' and lease_until < coalesce($2::timestamptz, now())
  order by lease_until
  limit $1
  for update skip locked
)
update ${tasks} t
set status = case when t.retry_count < coalesce(t.max_retries, 0) then 'PENDING' else 'FAILED' end,
    retry_count = t.retry_count + case when t.retry_count < coalesce(t.max_retries, 0) then 1 else 0 end,
    run_at = case when t.retry_count < coalesce(t.max_retries, 0)
                  then coalesce($2::timestamptz, now()) + make_interval(secs => ${backoff('t.retry_count', '$3', '$4')})
                  else t.run_at end,
    finished_at = case when t.retry_count < coalesce(t.max_retries, 0) then null else coalesce($2::timestamptz, now()) end,
    error = 'Lease expired: worker ' || coalesce(t.worker_id, '?') || ' stopped renewing it (crashed or lost its connection)',
    error_type = 'LeaseExpiredError', error_stack = null,
    error_history = ${history('t.attempt', "'Lease expired'", "'LeaseExpiredError'", 'coalesce($2::timestamptz, now())')},
    worker_id = case when t.retry_count < coalesce(t.max_retries, 0) then null else t.worker_id end,
    lease_until = null, updated_at = coalesce($2::timestamptz, now())
from expired
where t.id = expired.id
returning t.id, t.status, t.queue, t.name, t.attempt, t.worker_id`,
    taskTableAnalyze: `analyze ${tasks}`,
    taskDeleteFinished: `
delete from ${tasks}
where id in (
  select id from ${tasks}
  where id < $1 and status in ('COMPLETED', 'FAILED', 'CANCELLED')
  order by id
  limit $2
)
returning id`,
  };
}

/**
 * SQL of the executors (container worker and Cloudflare cron): claim, heartbeat, complete,
 * fail, put back, sweep, progress. Each is one statement; the write-backs are fenced by
 * `(id, attempt, worker_id, lease_token)` and batched (one JSON array param of many tasks).
 * The claim writes a fresh random `lease_token` (returned as `lease_token`); the sweep, a
 * put-back, a completion or a failure clears it.
 *
 * Every statement takes "now" as a parameter that may be null: null means the database clock
 * (production); tests inject a time so back-off is checked without sleeping.
 * @module
 */
import { leaderFence } from './maintainer-statements.ts';
import { flowClaimStatements, type FlowClaimStatements } from './flow-control-statements.ts';
import { quoteSchema } from '../schema-name.ts';
import { fence, fenceColumns } from './run-fence.ts';

/** How many errors `error_history` keeps per task (most recent last). */
export const ERROR_HISTORY_LENGTH = 10;

// Retry back-off, in seconds, for the n-th retry (retry_count before it is incremented):
// base * 2^n, capped, with "equal jitter" (half fixed, half random) so that a burst of
// failures does not come back as a burst. Params: base seconds, cap seconds.
const backoff = (retryCount: string, base: string, cap: string) =>
  `(least(${cap}::float8, ${base}::float8 * power(2, least(${retryCount}, 30))) * (0.5 + random() / 2))`;

// A task's queue position is the time it joined the due tasks: its creation, or its run_at when
// that is later (a delayed task, a retry after its back-off). So fresh tasks go before retries
// that became due later, a delayed task goes by when it became due (like a retry), and a task
// created with a past runAt does not jump ahead of tasks created before it. Within a priority,
// tasks_claim_due_idx and tasks_claim_queue_idx (migration 0003) hold due tasks before the
// ones not due yet, so a claim reads a range that ends at "now".
const position = (alias = '') => `greatest(${alias}created_at, ${alias}run_at)`;

// The error history after one more error: the last ERROR_HISTORY_LENGTH entries.
const history = (attempt: string, message: string, type: string, now: string) =>
  `jsonb_path_query_array(t.error_history || jsonb_build_array(jsonb_build_object(
       'attempt', ${attempt}, 'message', left(${message}, 2000), 'type', ${type}, 'at', ${now})),
       '$[last-${ERROR_HISTORY_LENGTH - 1} to last]')`;

export interface WorkerStatements extends FlowClaimStatements {
  /**
   * Claims up to $1 due `PENDING` tasks in priority / queue-position order for worker $2 with
   * a lease of $3 seconds, filling a null `max_retries` with the worker default $4; $5 = now.
   * `…ForQueues` adds $6 = text[] of queues. Rows come back in no particular order, with
   * `position_us` (the queue position, `greatest(created_at, run_at)`, in epoch microseconds,
   * int8) to sort them by. Reads about as many rows as it claims, plus one index descent per
   * priority level it visits: not-due, other queues' and finished tasks are not read. `args` and
   * `kwargs` come as JSON text (`args_json`, `kwargs_json`): parsed where the handler runs,
   * which for the thread pool is the execution thread, not the worker's main thread.
   *
   * The claim commits asynchronously (`synchronous_commit` off for its own transaction only):
   * it does not wait for its WAL to reach the disk, about a quarter of a millisecond per claim
   * on the bench machine. A claim is the one write that may be lost: if Postgres crashes in the
   * next fraction of a second, the task is `PENDING` again after recovery and runs again, which
   * at-least-once execution allows, and the write-backs stay fenced by the lease token (each
   * claim writes a fresh one): one run's outcome lands, the other's is dropped, as after a lost
   * lease, even when the same worker claimed the task again at the same attempt number.
   * Inserts, completions, failures and put-backs stay synchronous: what a caller can observe
   * as done is on disk.
   */
  readonly taskClaim: string;
  readonly taskClaimForQueues: string;
  /**
   * The claim of the Cloudflare cron executor (inline, within a time budget): like `taskClaim`
   * and `taskClaimForQueues`, but only tasks with a timeout of at most $N seconds (float8), N
   * being the parameter after the others: $6 here, $7 in `…ForQueues`. Tasks with no timeout
   * never fit. The timeout is not in the claim indexes: a claim reads the due tasks that do not
   * fit (of each priority level it visits) on its way to those that do, so it costs more the more
   * long due tasks wait in front of short ones. Container workers never use these statements.
   */
  readonly taskClaimFitting: string;
  readonly taskClaimFittingForQueues: string;
  /**
   * Extends the lease of the tasks $1 (text[]) at attempts $2 (int[]) with lease tokens $6
   * (text[]) still owned by worker $3 to now ($5) + $4 s; returns the ids and tokens still owned.
   */
  readonly taskHeartbeat: string;
  /**
   * Completes tasks from $1 = JSON `[{id, attempt, token, result, duration}]` owned by worker
   * $2; $3 = now. Returns the ids and tokens that landed.
   */
  readonly taskCompleteMany: string;
  /**
   * Fails tasks from $1 = JSON `[{id, attempt, token, error, error_type, error_stack, duration, retryable}]`
   * owned by worker $2: back to `PENDING` with back-off while retries are left and the error is
   * retryable, else `FAILED`. $3 = now, $4 = back-off base s, $5 = back-off cap s.
   */
  readonly taskFailMany: string;
  /**
   * Puts tasks $1 (text[]) at attempts $2 (int[]) with lease tokens $5 (text[]) owned by worker
   * $3 back to `PENDING` as they were (no retry used); $4 = now.
   */
  readonly taskPutBack: string;
  /**
   * Puts back tasks the cron executor's time budget cut off, from $1 = JSON
   * `[{id, attempt, token, duration, cut_message, fail_message}]` owned by worker $2 ($3 = now):
   * `PENDING` as they were, no retry used, with a {@link BUDGET_CUT_OFF_ERROR} entry
   * (`cut_message`) added to `error_history`. A task cut off for the $4-th time (counting the
   * entries since its last {@link BUDGET_EXCEEDED_ERROR}, so a manual retry starts again) is
   * `FAILED` instead, with that error type and `fail_message`, and no retry either. $4 must be at
   * most {@link ERROR_HISTORY_LENGTH}. Returns the ids, tokens and statuses that landed.
   */
  readonly taskCutOff: string;
  /**
   * Recovers up to $1 `PROGRESS` tasks whose lease expired before now ($2): back to `PENDING`
   * with back-off while retries are left, else `FAILED`. $3 = back-off base s, $4 = cap s.
   * Fenced by $5, the maintainer's holder id: nothing moves unless $5 holds the leader lease
   * (null: an operator's run, unfenced).
   */
  readonly taskSweepExpired: string;
  /** Stores progress $4 (JSON) on task $1 at attempt $2 with lease token $5 owned by worker $3. */
  readonly taskProgress: string;
  /**
   * Whether the run of task $1 with lease token $2 (text) was cancelled: one boolean, `cancelled`
   * (no row when the task is gone). A cancel keeps the run's token in the row.
   */
  readonly taskRunCancelled: string;
  /**
   * Refreshes planner statistics. Run at worker start: a claim planned on stale statistics
   * (a burst of tasks since the last autovacuum) sorts every pending row instead of walking
   * the claim index, measured at 19 ms instead of 1 ms per claim with 20k pending.
   */
  readonly taskTableAnalyze: string;
  /**
   * Retention: deletes up to $2 final tasks (COMPLETED, FAILED, CANCELLED) created before the
   * id $1 (see `taskIdFloor`), oldest first. Walks the primary key (ids are time-ordered), so
   * it needs no index of its own; unfinished old tasks are skipped, never deleted, and rows
   * locked by anything else are skipped rather than waited for. Fenced by $3, the maintainer's
   * holder id, like the sweep ($4 = now).
   */
  readonly taskDeleteFinished: string;
}

/** Builds the executor statements for `schema`. */
export function workerStatements(schema: string): WorkerStatements {
  const tasks = `${quoteSchema(schema)}.tasks`;
  return {
    ...claimStatements(tasks),
    ...flowClaimStatements(schema),
    ...writeBackStatements(tasks),
    ...cutOffStatements(tasks),
    ...maintenanceStatements(tasks, schema),
  };
}

/** The claim, for all queues or some; `tasks` is the quoted table. */
function claimStatements(
  tasks: string,
): Pick<
  WorkerStatements,
  'taskClaim' | 'taskClaimForQueues' | 'taskClaimFitting' | 'taskClaimFittingForQueues'
> {
  const now = 'coalesce($5::timestamptz, now())';
  // The highest priority with a pending task (of queue `asked.queue` when `inQueue`), below
  // `level.priority` when `below`: one index descent. Walking the priorities this way (a skip
  // scan) costs one descent per priority level visited, whatever the levels hold.
  const next = (below: boolean, inQueue: boolean) => `(
      select priority from ${tasks}
      where status = 'PENDING'${inQueue ? ' and queue = asked.queue' : ''}${below ? ' and priority < level.priority' : ''}
      order by priority desc
      limit 1)`;
  // Up to $1 due tasks of priority `level.priority` (and queue `asked.queue`), oldest position
  // first, locked: a range of the index that ends at "now", so tasks not due yet are not read.
  // `maxTimeout` (the fitting claims' parameter) filters the range row by row: the due tasks
  // that do not fit are read and skipped (not locked); the container claims have no filter.
  // A task with a concurrency key is never taken here: the limited claim (flow-control-statements.ts)
  // takes it under its queue's lock, so a worker that has not yet seen that its queue has keyed
  // tasks leaves them alone instead of running two of one key at once.
  const due = (inQueue: boolean, maxTimeout?: string) => `(
      select id, ${position()} as position from ${tasks}
      where status = 'PENDING' and priority = level.priority${inQueue ? ' and queue = asked.queue' : ''}
        and ${position()} <= ${now} and run_at <= ${now} and concurrency_key is null${maxTimeout ? `\n        and timeout <= ${maxTimeout}::float8` : ''}
      order by ${position()}, id
      limit $1
      for update skip locked)`;
  // All queues: the priority levels from the highest down, each level's due tasks in position
  // order, until $1 are found (the recursive CTE is evaluated only as far as the limit pulls).
  const allQueues = (maxTimeout?: string) => `
  with recursive level(priority) as (
    select ${next(false, false)}
    union all
    select ${next(true, false)} from level where level.priority is not null
  )
  select due.id from level cross join lateral ${due(false, maxTimeout)} due
  limit $1`;
  // Some queues: a level is the highest priority below the last one in any asked queue; per
  // level, each asked queue's due tasks (tasks_claim_queue_idx), merged by position. Each queue
  // locks up to $1 rows, so with several queues a claim may hold a few rows it does not take
  // until it commits; concurrent claims skip them meanwhile.
  const someQueues = (maxTimeout?: string) => `
  with recursive asked(queue) as (select distinct queue from unnest($6::text[]) as queue),
  level(priority) as (
    select (select max(head.priority) from asked cross join lateral ${next(false, true)} head(priority))
    union all
    select (select max(head.priority) from asked cross join lateral ${next(true, true)} head(priority))
    from level where level.priority is not null
  )
  select pick.id from level cross join lateral (
    select due.id from asked cross join lateral ${due(true, maxTimeout)} due
    order by due.position, due.id
    limit $1
  ) pick
  limit $1`;
  return {
    taskClaim: claimUpdate(tasks, allQueues()),
    taskClaimForQueues: claimUpdate(tasks, someQueues()),
    taskClaimFitting: claimUpdate(tasks, allQueues('$6')),
    taskClaimFittingForQueues: claimUpdate(tasks, someQueues('$7')),
  };
}

// `id = any(array(...))` rather than a join with a CTE: with tens of thousands pending the
// planner hash-joined the CTE against the whole table (measured ~5 of 10 ms per 500-task
// claim); the array form always looks rows up by primary key.
/** The claim's UPDATE of the tasks `select` picks: a fresh lease and token each. */
function claimUpdate(tasks: string, select: string): string {
  return `
update ${tasks} t
set status = 'PROGRESS',
    attempt = t.attempt + 1,
    worker_id = $2,
    lease_until = coalesce($5::timestamptz, now()) + make_interval(secs => $3::float8),
    started_at = coalesce($5::timestamptz, now()),
    updated_at = coalesce($5::timestamptz, now()),
    max_retries = coalesce(t.max_retries, $4::int),
    lease_token = gen_random_uuid()
where t.id = any(array(${select}
))
  and (select set_config('synchronous_commit', 'off', true)) = 'off'
returning t.id, t.name, t.args::text as args_json, t.kwargs::text as kwargs_json, t.queue, t.priority,
          t.timeout, t.attempt, t.max_retries, t.lease_token::text as lease_token, t.trace_context,
          (extract(epoch from ${position('t.')}) * 1000000)::int8 as position_us,
          extract(epoch from t.started_at - ${position('t.')}) * 1000 as waited_ms`;
}

/** `error_history` type of a cut-off by the cron executor's budget (see `taskCutOff`). */
export const BUDGET_CUT_OFF_ERROR = 'BudgetCutOffError';
/** `error_type` of a task failed for being cut off by that budget too many times. */
export const BUDGET_EXCEEDED_ERROR = 'BudgetExceededError';

// The cut-offs recorded since the task last failed for them (`error_history` ordinal numbers).
const cutOffsSinceGiveUp = `(
      select count(*) from jsonb_array_elements(t.error_history) with ordinality as cut(entry, n)
      where cut.entry->>'type' = '${BUDGET_CUT_OFF_ERROR}'
        and cut.n > coalesce((
          select max(gave_up.n) from jsonb_array_elements(t.error_history) with ordinality as gave_up(entry, n)
          where gave_up.entry->>'type' = '${BUDGET_EXCEEDED_ERROR}'), 0))`;

/** The cron executor's cut-off write (see `taskCutOff`). */
function cutOffStatements(tasks: string): Pick<WorkerStatements, 'taskCutOff'> {
  return {
    taskCutOff: `
with input as materialized (
  select x.*, ${cutOffsSinceGiveUp} + 1 >= $4::int as give_up, ${fenceColumns('$2')}
  from jsonb_to_recordset($1::jsonb) as x(
    id text, attempt int, token text, duration float8, cut_message text, fail_message text)
  join ${tasks} t on t.id = x.id
)
update ${tasks} t
set status = case when input.give_up then 'FAILED' else 'PENDING' end,
    worker_id = case when input.give_up then t.worker_id end,
    started_at = case when input.give_up then t.started_at end,
    finished_at = case when input.give_up then coalesce($3::timestamptz, now()) end,
    error = case when input.give_up then input.fail_message else t.error end,
    error_type = case when input.give_up then '${BUDGET_EXCEEDED_ERROR}' else t.error_type end,
    error_stack = case when input.give_up then null else t.error_stack end,
    duration = case when input.give_up then input.duration else t.duration end,
    error_history = ${history(
      't.attempt',
      'case when input.give_up then input.fail_message else input.cut_message end',
      `case when input.give_up then '${BUDGET_EXCEEDED_ERROR}' else '${BUDGET_CUT_OFF_ERROR}' end`,
      'coalesce($3::timestamptz, now())',
    )},
    lease_until = null, lease_token = null, updated_at = coalesce($3::timestamptz, now())
from input
where ${fence('input')}
returning t.id, input.token, t.status, t.queue, t.name, t.attempt`,
  };
}

/** What a worker writes while it holds tasks: leases, outcomes, put-backs, progress. */
function writeBackStatements(
  tasks: string,
): Pick<
  WorkerStatements,
  'taskHeartbeat' | 'taskCompleteMany' | 'taskFailMany' | 'taskPutBack' | 'taskProgress' | 'taskRunCancelled'
> {
  return {
    taskHeartbeat: `
with owned as materialized (
  select run.*, ${fenceColumns('$3')} from unnest($1::text[], $2::int[], $6::text[]) as run(id, attempt, token)
)
update ${tasks} t
set lease_until = coalesce($5::timestamptz, now()) + make_interval(secs => $4::float8)
from owned
where ${fence('owned')}
returning t.id, owned.token`,
    taskCompleteMany: `
with input as materialized (
  select x.*, ${fenceColumns('$2')}
  from jsonb_to_recordset($1::jsonb) as x(id text, attempt int, token text, result jsonb, duration float8)
)
update ${tasks} t
set status = 'COMPLETED', result = input.result, duration = input.duration,
    finished_at = coalesce($3::timestamptz, now()), updated_at = coalesce($3::timestamptz, now()),
    lease_until = null, lease_token = null
from input
where ${fence('input')}
returning t.id, input.token, t.queue, t.name, t.attempt`,
    taskFailMany: `
with input as materialized (
  select x.*, x.retryable and t.retry_count < coalesce(t.max_retries, 0) as retry, ${fenceColumns('$2')}
  from jsonb_to_recordset($1::jsonb) as x(
    id text, attempt int, token text, error text, error_type text, error_stack text, duration float8,
    retryable boolean)
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
    duration = input.duration, lease_until = null, lease_token = null,
    updated_at = coalesce($3::timestamptz, now())
from input
where ${fence('input')}
returning t.id, input.token, t.status, t.queue, t.name, t.attempt, t.run_at`,
    taskPutBack: `
with owned as materialized (
  select run.*, ${fenceColumns('$3')} from unnest($1::text[], $2::int[], $5::text[]) as run(id, attempt, token)
)
update ${tasks} t
set status = 'PENDING', worker_id = null, lease_until = null, lease_token = null, started_at = null,
    updated_at = coalesce($4::timestamptz, now())
from owned
where ${fence('owned')}
returning t.id, t.queue, t.name, t.attempt`,
    taskProgress: `
with run as materialized (select $1::text as id, $2::int as attempt, $5::text as token, ${fenceColumns('$3')})
update ${tasks} t set progress = $4::jsonb
from run
where ${fence('run')}
returning t.id`,
    taskRunCancelled: `
select t.status = 'CANCELLED' and t.lease_token::text is not distinct from $2::text as cancelled
from ${tasks} t where t.id = $1`,
  };
}

/** The maintainer's statements: expired leases, planner statistics, retention. */
function maintenanceStatements(
  tasks: string,
  schema: string,
): Pick<WorkerStatements, 'taskSweepExpired' | 'taskTableAnalyze' | 'taskDeleteFinished'> {
  return {
    taskSweepExpired: `
with expired as (
  select id from ${tasks}
  where status = 'PROGRESS' and lease_until < coalesce($2::timestamptz, now())
    and ${leaderFence(schema, '$5', 'coalesce($2::timestamptz, now())')}
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
    lease_until = null, lease_token = null, updated_at = coalesce($2::timestamptz, now())
from expired
where t.id = expired.id
returning t.id, t.status, t.queue, t.name, t.attempt, t.worker_id`,
    taskTableAnalyze: `analyze ${tasks}`,
    taskDeleteFinished: `
delete from ${tasks}
where id in (
  select id from ${tasks}
  where id < $1 and status in ('COMPLETED', 'FAILED', 'CANCELLED')
    and ${leaderFence(schema, '$3', 'coalesce($4::timestamptz, now())')}
  order by id
  limit $2
  for update skip locked
)
returning id`,
  };
}

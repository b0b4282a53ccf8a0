/**
 * SQL of flow control (migration 0007): queue limits (at most N running, at most N starts per
 * period) and per-key concurrency (`concurrency_key`, at most `concurrency_key_limit` running
 * per key within a queue), enforced where tasks are claimed.
 *
 * A limited claim is two statements in one transaction: `flowClaimLock` takes the claim lock of
 * every flow-controlled queue it serves (a transaction advisory lock per queue, in lock order),
 * then the limited claim counts and claims. The second statement takes its snapshot after the
 * locks are held, so it sees every claim and every finish that committed before: counting
 * running tasks in the same statement that waits for a lock would count with a snapshot taken
 * before the wait and let two claimers both see a free slot. Claims of different queues never
 * wait for each other; claims of one controlled queue take turns (about a millisecond each).
 *
 * Unlimited queues and tasks without a key keep the plain claim (`taskClaim…` in
 * worker-statements.ts), whose only change is that it never takes a keyed task.
 * @module
 */
import { quoteSchema } from '../schema-name.ts';

/** The claims of flow-controlled queues and the queries executors make to choose them. */
export interface FlowClaimStatements {
  /**
   * Takes the claim locks of queues $1 (text[]) until the transaction ends, in lock order (so
   * two claimers of overlapping sets never deadlock). The first statement of a limited claim.
   * Returns `isolation`: the limited claim needs `read committed` (a snapshot per statement, so
   * the claim's is taken after the locks); under another level it claims nothing.
   */
  readonly flowClaimLock: string;
  /**
   * The limited claim, run after `flowClaimLock` in the same transaction. Params as `taskClaim`
   * ($1 limit, $2 worker, $3 lease seconds, $4 default max_retries, $5 now or null) plus
   * $6 = text[], the queues whose locks the transaction holds. `…ForQueues` adds $7 = text[] of
   * served queues (the all-queues form serves every queue with pending tasks, found one index
   * descent per queue); the fitting forms add the max timeout after those ($7 or $8).
   *
   * Per served queue, room = least(concurrency − running, rate_limit − starts in the last
   * period, $1); a queue with limits whose lock is not held gets no room (the caller's list of
   * controlled queues is stale: `stale`), and keyed tasks are only taken from locked queues,
   * skipping keys at their limit and at most as many per key as the key has room. Started
   * tasks get `started_at` = the clock after the locks were taken (`clock_timestamp()`, never
   * before the queue's last logged start), which is also the time logged for the rate limit,
   * and the tasks of locked queues `flow_controlled` (they count against limits from then on:
   * the running count reads only those, from tasks_running_flow_idx, so the plain claim of an
   * unlimited queue pays nothing for it).
   *
   * Rows: the claimed tasks as `taskClaim` returns them, plus one summary row with a null `id`:
   * `held_slots` (a due task of a controlled queue waits for a running slot: of the queue or of
   * its key), `retry_in_ms` (a due task waits for the rate window: milliseconds until the
   * earliest such queue has room again; null when none does) and `stale`.
   */
  readonly taskClaimLimited: string;
  readonly taskClaimLimitedForQueues: string;
  readonly taskClaimLimitedFitting: string;
  readonly taskClaimLimitedFittingForQueues: string;
  /**
   * The flow-controlled queues (`queue`): those with limits, and those with pending keyed
   * tasks. `…Of` only among queues $1 (text[]). A few index descents.
   */
  readonly flowControlledQueues: string;
  readonly flowControlledQueuesOf: string;
}

/** Managing a queue's limits. */
export interface QueueLimitStatements {
  /**
   * Sets queue $1's limits: concurrency $2, rate limit $3 per $4 seconds (nulls: none); the
   * start log is kept. Returns the row with `created` (no limits row existed before).
   */
  readonly queueLimitsSet: string;
  /** Queue $1's limits; no row when it has none. */
  readonly queueLimitsGet: string;
  /** Every queue's limits, by queue. */
  readonly queueLimitsList: string;
  /** Removes queue $1's limits; returns the queue when it had some. */
  readonly queueLimitsClear: string;
  /**
   * Counts the tasks queue $1 already runs against its limits (`flow_controlled`): those the
   * plain claim started before the queue had limits. Reads the running tasks (lease index).
   */
  readonly queueRunningCounted: string;
}

export type FlowControlStatements = FlowClaimStatements & QueueLimitStatements;

/** Builds the flow-control statements for `schema`. */
export function flowControlStatements(schema: string): FlowControlStatements {
  return { ...flowClaimStatements(schema), ...queueLimitStatements(schema) };
}

const LIMIT_COLUMNS = 'queue, concurrency, rate_limit, rate_period_seconds, updated_at';

/** The statements of `setQueueLimits`, `getQueueLimits`, `clearQueueLimits`. */
export function queueLimitStatements(schema: string): QueueLimitStatements {
  const limits = `${quoteSchema(schema)}.queue_limits`;
  const tasks = `${quoteSchema(schema)}.tasks`;
  return {
    queueLimitsSet: `
insert into ${limits} as l (queue, concurrency, rate_limit, rate_period_seconds, updated_at)
values ($1, $2::int, $3::int, $4::float8, now())
on conflict (queue) do update
  set concurrency = excluded.concurrency, rate_limit = excluded.rate_limit,
      rate_period_seconds = excluded.rate_period_seconds, updated_at = excluded.updated_at
returning ${LIMIT_COLUMNS}, (xmax = 0) as created`,
    queueLimitsGet: `select ${LIMIT_COLUMNS} from ${limits} where queue = $1`,
    queueLimitsList: `select ${LIMIT_COLUMNS} from ${limits} order by queue`,
    queueLimitsClear: `delete from ${limits} where queue = $1 returning queue`,
    queueRunningCounted: `
update ${tasks} set flow_controlled = true
where status = 'PROGRESS' and queue = $1 and flow_controlled is not true`,
  };
}

/** The claim statements of flow-controlled queues; `schema` is checked by `quoteSchema`. */
export function flowClaimStatements(schema: string): FlowClaimStatements {
  const tasks = `${quoteSchema(schema)}.tasks`;
  const limits = `${quoteSchema(schema)}.queue_limits`;
  // The lock space: one int4 per schema, so two schemas on one database never share a lock.
  const space = `hashtext('edge-task-worker:claim:${schema}')`;
  const claim = (inQueues: boolean, fitting: boolean) =>
    limitedClaim({ tasks, limits, inQueues, maxTimeout: fitting ? (inQueues ? '$8' : '$7') : undefined });
  return {
    // jit off for the rest of the transaction: the claim's row estimates are rough (a lateral
    // limit per queue), and compiling it would cost tens of milliseconds for a few rows' work.
    flowClaimLock: `
select count(pg_advisory_xact_lock(${space}, hashtext(locks.queue)))::int as locked,
       set_config('jit', 'off', true) as jit, current_setting('transaction_isolation') as isolation
from (select distinct queue, hashtext(queue) as h from unnest($1::text[]) as queue order by h, queue) locks`,
    taskClaimLimited: claim(false, false),
    taskClaimLimitedForQueues: claim(true, false),
    taskClaimLimitedFitting: claim(false, true),
    taskClaimLimitedFittingForQueues: claim(true, true),
    // Keyed tasks are looked up in (queue, key) order, which only tasks_keyed_pending_idx gives
    // (see migration 0007): one descent per queue with keyed tasks.
    flowControlledQueues: `
with recursive keyed(queue) as (
  (select queue from ${tasks} where status = 'PENDING' and concurrency_key is not null
   order by queue, concurrency_key limit 1)
  union all
  select (select t.queue from ${tasks} t
          where t.status = 'PENDING' and t.concurrency_key is not null and t.queue > keyed.queue
          order by t.queue, t.concurrency_key limit 1)
  from keyed where keyed.queue is not null
)
select queue from ${limits}
union
select queue from keyed where queue is not null`,
    flowControlledQueuesOf: `
select a.queue from (select distinct queue from unnest($1::text[]) as queue) a
where exists (select 1 from ${limits} l where l.queue = a.queue)
   or (select t.concurrency_key from ${tasks} t
       where t.status = 'PENDING' and t.concurrency_key is not null and t.queue = a.queue
       order by t.concurrency_key limit 1) is not null`,
  };
}

interface LimitedClaimShape {
  tasks: string;
  limits: string;
  /** Served queues are $7 (else every queue with pending tasks). */
  inQueues: boolean;
  /** The fitting claims' max timeout param. */
  maxTimeout: string | undefined;
}

const NOW = 'coalesce($5::timestamptz, now())';
const POSITION = 'greatest(t.created_at, t.run_at)';

/** The limited claim: served queues, their room, the picked tasks, the update, the summary. */
function limitedClaim(shape: LimitedClaimShape): string {
  const { tasks } = shape;
  return `
with recursive ${servedQueues(shape)},
clock as materialized (
  select coalesce($5::timestamptz, clock_timestamp()) as at
  where current_setting('transaction_isolation') = 'read committed'
),
${queueRoom(shape)},
${pickedTasks(shape)},
allowed as (
  select k.*, row_number() over (partition by k.queue order by k.priority desc, k.position, k.id) as queue_rank
  from (
    select p.*, row_number() over (
      partition by p.queue, p.concurrency_key order by p.priority desc, p.position, p.id) as key_rank
    from picked p
  ) k
  where k.concurrency_key is null or k.key_running + k.key_rank <= k.concurrency_key_limit
),
chosen as (
  select a.id from allowed a join room q on q.queue = a.queue
  where a.queue_rank <= q.room
  order by a.priority desc, a.position, a.id
  limit $1
),
claimed as (
  update ${tasks} t
  set status = 'PROGRESS',
      attempt = t.attempt + 1,
      worker_id = $2,
      lease_until = q.at + make_interval(secs => $3::float8),
      started_at = q.at,
      updated_at = q.at,
      max_retries = coalesce(t.max_retries, $4::int),
      lease_token = gen_random_uuid(),
      flow_controlled = case when q.locked then true else t.flow_controlled end
  from room q
  where t.id = any(array(select id from chosen)) and q.queue = t.queue
    and (select set_config('synchronous_commit', 'off', true)) = 'off'
  returning t.id, t.name, t.args::text as args_json, t.kwargs::text as kwargs_json, t.queue, t.priority,
            t.timeout, t.attempt, t.max_retries, t.lease_token::text as lease_token, t.trace_context,
            (extract(epoch from ${POSITION}) * 1000000)::int8 as position_us,
            extract(epoch from t.started_at - ${POSITION}) * 1000 as waited_ms
),
${startLog(shape)},
${summary(shape)}
select c.*, null::boolean as held_slots, null::float8 as retry_in_ms, null::boolean as stale from claimed c
union all
select null, null, null, null, null, null, null, null, null, null, null, null, null, s.held_slots, s.retry_in_ms, s.stale
from summary s`;
}

/** `asked(queue)`: the served queues, or every queue with pending tasks (a loose index scan). */
function servedQueues({ tasks, inQueues }: LimitedClaimShape): string {
  if (inQueues) return `asked(queue) as (select distinct queue from unnest($7::text[]) as queue)`;
  return `asked(queue) as (
  select min(queue) from ${tasks} where status = 'PENDING'
  union all
  select (select min(t.queue) from ${tasks} t where t.status = 'PENDING' and t.queue > asked.queue)
  from asked where asked.queue is not null
)`;
}

/**
 * `room`: per served queue, its limits, whether this transaction holds its lock, the start time
 * of this claim (`at`) and how many tasks it may start (`room`); `take` rows are read for it:
 * one more than the room for a locked queue, to see whether a due task waits.
 */
function queueRoom({ tasks, limits }: LimitedClaimShape): string {
  return `limited as materialized (
  select a.queue, a.queue = any($6::text[]) as locked, l.queue is not null as has_limits,
         l.concurrency, l.rate_limit, make_interval(secs => l.rate_period_seconds) as period,
         l.started_at as log_at, l.started_count as log_count,
         greatest(clock.at, (select max(s.t) from unnest(l.started_at) as s(t))) as at
  from asked a cross join clock left join ${limits} l on l.queue = a.queue
  where a.queue is not null
),
counted as materialized (
  select q.*,
         case when q.concurrency is not null then (
           select count(*) from (
             select 1 from ${tasks} r
             where r.status = 'PROGRESS' and r.flow_controlled and r.queue = q.queue
             limit q.concurrency) r)::int
         end as running,
         case when q.rate_limit is not null then (
           select coalesce(sum(e.c), 0) from unnest(q.log_at, q.log_count) as e(t, c)
           where e.t > q.at - q.period)::int end as started
  from limited q
),
room as materialized (
  select q.*, r.room, r.room + case when q.locked then 1 else 0 end as take
  from counted q cross join lateral (
    select case when q.has_limits and not q.locked then 0
                else greatest(0, least($1::int, q.concurrency - q.running, q.rate_limit - q.started)) end as room
  ) r
)`;
}

/**
 * `picked`: per queue, up to `take` due tasks in claim order (walking its priority levels, one
 * index descent each, like the plain claim), locked (`skip locked`). A keyed task is read only
 * from a locked queue and only while its key has fewer running tasks than its limit; the keys
 * at their limit are read and skipped, so they cost a row each.
 */
function pickedTasks({ tasks, maxTimeout }: LimitedClaimShape): string {
  const fits = maxTimeout ? `\n          and t.timeout <= ${maxTimeout}::float8` : '';
  return `picked as materialized (
  select c.* from room q cross join lateral (
    with recursive level(priority) as (
      select (select priority from ${tasks} where status = 'PENDING' and queue = q.queue
              order by priority desc limit 1)
      union all
      select (select priority from ${tasks} where status = 'PENDING' and queue = q.queue and priority < level.priority
              order by priority desc limit 1)
      from level where level.priority is not null
    )
    select d.* from level cross join lateral (
      select t.id, t.queue, t.priority, ${POSITION} as position, t.concurrency_key, t.concurrency_key_limit,
             k.running as key_running
      from ${tasks} t cross join lateral (
        select case when t.concurrency_key is not null then (
          select count(*) from (
            select 1 from ${tasks} r
            where r.status = 'PROGRESS' and r.flow_controlled and r.queue = t.queue
              and r.concurrency_key = t.concurrency_key
            limit t.concurrency_key_limit) r)::int end as running
      ) k
      where t.status = 'PENDING' and t.queue = q.queue and t.priority = level.priority
        and ${POSITION} <= ${NOW} and t.run_at <= ${NOW}${fits}
        and (t.concurrency_key is null or (q.locked and k.running < t.concurrency_key_limit))
      order by ${POSITION}, t.id
      limit q.take
      for update of t skip locked
    ) d
    limit q.take
  ) c
  where q.take > 0
)`;
}

/** `logged`: appends this claim's starts to the log of each rate-limited queue, dropping old ones. */
function startLog({ limits }: LimitedClaimShape): string {
  const kept = (column: 't' | 'c') => `array(
        select e.${column} from unnest(l.started_at, l.started_count) with ordinality as e(t, c, n)
        where e.t > s.at - s.period order by e.n)`;
  return `started as (
  select q.queue, q.at, q.period, count(*)::int as n
  from claimed c join room q on q.queue = c.queue
  group by q.queue, q.at, q.period
),
logged as (
  update ${limits} l
  set started_at = ${kept('t')} || s.at,
      started_count = ${kept('c')} || s.n
  from started s
  where l.queue = s.queue and l.rate_limit is not null
  returning l.queue
)`;
}

/**
 * `summary`: whether a due task of a locked queue waits for a running slot (more were allowed
 * than the room, a key's second task was cut, or a due keyed task's key is at its limit: a
 * bounded look, made only when the claim came back short), when the rate window next has room
 * for a queue whose rate held a due task back, and whether the caller's list is stale.
 */
function summary({ tasks }: LimitedClaimShape): string {
  return `per_queue as (
  select q.queue, q.locked, q.has_limits, q.room, q.rate_limit, q.period, q.started, q.log_at, q.at,
         coalesce((select s.n from started s where s.queue = q.queue), 0) as n,
         (select count(*) from picked p where p.queue = q.queue) as n_picked,
         (select count(*) from allowed a where a.queue = q.queue) as n_allowed
  from room q
),
waits as (
  select w.*,
         w.locked and w.n_allowed > w.room and w.rate_limit is not null
           and w.rate_limit - w.started - w.n <= 0 as rate_held,
         w.locked and (w.n_picked > w.n_allowed
           or (w.n_allowed > w.room and (w.rate_limit is null or w.rate_limit - w.started - w.n > 0))
           or ((select count(*) from claimed) < $1 and exists (
             select 1 from (
               select t.concurrency_key, t.concurrency_key_limit from ${tasks} t
               where t.status = 'PENDING' and t.concurrency_key is not null and t.queue = w.queue
                 and t.run_at <= ${NOW} and ${POSITION} <= ${NOW}
               order by t.concurrency_key
               limit 100) k
             where (select count(*) from ${tasks} r where r.status = 'PROGRESS' and r.flow_controlled
                    and r.queue = w.queue and r.concurrency_key = k.concurrency_key) >= k.concurrency_key_limit)))
           as slot_held
  from per_queue w
),
summary as (
  select coalesce(bool_or(w.slot_held), false) as held_slots,
         min(case when w.rate_held then extract(epoch from (
           least((select min(e.t) from unnest(w.log_at) as e(t) where e.t > w.at - w.period),
                 case when w.n > 0 then w.at end) + w.period - w.at)) * 1000 end)::float8 as retry_in_ms,
         coalesce(bool_or(w.has_limits and not w.locked), false) as stale
  from waits w
)`;
}

/**
 * SQL of the maintainer's election and plan (migration 0005): one row per schema whose lease
 * says who leads, and one statement that both takes or renews that lease and works out when
 * anything next needs this executor (the next due task, the earliest lease to sweep, the next
 * retention pass). The maintenance statements themselves (sweep, retention) live with the
 * executor statements and take the leader's id as their fence.
 *
 * Every statement takes "now" as a parameter that may be null (the database clock).
 * @module
 */
import { quoteSchema } from '../schema-name.ts';

/** The name of the one leader row of a schema. */
export const LEADER_ROW = 'leader';

export interface MaintainerStatements {
  /**
   * Takes the lease for holder $1 ($2 seconds from now, $3 = now) when it is free, expired or
   * already theirs, and in the same statement returns the plan: `now`, `holder`,
   * `lease_until`, `leading` (whether $1 holds it now), `retention_ran_at`, `next_due` (when
   * the earliest pending task becomes due: in the past when some are due already; null when
   * none is pending) and `earliest_lease` (the first running task's lease end; null when none
   * runs) and `next_schedule` (the earliest fire time of a schedule that is not paused).
   * `…ForQueues` adds $4 = text[]: `next_due` of those queues only. Reads one index descent per
   * pending priority level (per queue), one for the leases and one for the schedules.
   */
  readonly maintainerPlan: string;
  readonly maintainerPlanForQueues: string;
  /** Ends holder $1's lease now ($2 = now), so the next candidate takes over at once. */
  readonly maintainerRelease: string;
  /** Records that holder $1 finished a retention pass at now ($2), if it still leads. */
  readonly maintainerRetentionRan: string;
}

/**
 * The fence of a maintenance statement: true when `holder` (a text param, null for an operator's
 * unfenced run) holds an unexpired lease at `now`.
 */
export function leaderFence(schema: string, holder: string, now: string): string {
  return `(${holder}::text is null or exists (
    select 1 from ${quoteSchema(schema)}.maintainer m
    where m.name = '${LEADER_ROW}' and m.holder = ${holder}::text and m.lease_until > ${now}))`;
}

/** Builds the maintainer statements for `schema`. */
export function maintainerStatements(schema: string): MaintainerStatements {
  const leader = `${quoteSchema(schema)}.maintainer`;
  const tasks = `${quoteSchema(schema)}.tasks`;
  const now = 'coalesce($3::timestamptz, now())';
  const elect = `
elected as (
  insert into ${leader} as m (name, holder, lease_until, elected_at)
  values ('${LEADER_ROW}', $1, ${now} + make_interval(secs => $2::float8), ${now})
  on conflict (name) do update
    set holder = excluded.holder,
        lease_until = excluded.lease_until,
        elected_at = case when m.holder = excluded.holder then m.elected_at else excluded.elected_at end
    where m.holder = excluded.holder or m.lease_until < excluded.elected_at
  returning m.holder, m.lease_until, m.retention_ran_at
),
current as (select holder, lease_until, retention_ran_at from ${leader} where name = '${LEADER_ROW}')`;
  // The highest pending priority (of an asked queue), below `level.priority` when `below`.
  const next = (below: boolean, inQueue: boolean) => `(
      select priority from ${tasks}
      where status = 'PENDING'${inQueue ? ' and queue = asked.queue' : ''}${below ? ' and priority < level.priority' : ''}
      order by priority desc
      limit 1)`;
  // The earliest queue position (the time a task becomes due) of a level (and queue): the
  // head of its range of tasks_claim_due_idx (tasks_claim_queue_idx).
  const head = (inQueue: boolean) => `(
      select greatest(created_at, run_at) as position from ${tasks}
      where status = 'PENDING' and priority = level.priority${inQueue ? ' and queue = asked.queue' : ''}
      order by greatest(created_at, run_at)
      limit 1)`;
  const levels = (inQueue: boolean) =>
    inQueue
      ? `asked(queue) as (select distinct queue from unnest($4::text[]) as queue),
level(priority) as (
  select (select max(h.priority) from asked cross join lateral ${next(false, true)} h(priority))
  union all
  select (select max(h.priority) from asked cross join lateral ${next(true, true)} h(priority))
  from level where level.priority is not null
)`
      : `level(priority) as (
  select ${next(false, false)}
  union all
  select ${next(true, false)} from level where level.priority is not null
)`;
  const plan = (inQueue: boolean) => `
with recursive ${elect},
${levels(inQueue)}
select ${now} as now,
       coalesce((select holder from elected), (select holder from current)) as holder,
       coalesce((select lease_until from elected), (select lease_until from current)) as lease_until,
       exists (select 1 from elected) as leading,
       coalesce((select retention_ran_at from elected), (select retention_ran_at from current)) as retention_ran_at,
       (select min(h.position) from level${inQueue ? ' cross join asked' : ''} cross join lateral ${head(inQueue)} h) as next_due,
       (select min(lease_until) from ${tasks} where status = 'PROGRESS') as earliest_lease,
       (select min(next_fire_at) from ${quoteSchema(schema)}.schedules where not paused) as next_schedule`;
  return {
    maintainerPlan: plan(false),
    maintainerPlanForQueues: plan(true),
    maintainerRelease: `
update ${leader} set lease_until = coalesce($2::timestamptz, now()) - interval '1 millisecond'
where name = '${LEADER_ROW}' and holder = $1 and lease_until > coalesce($2::timestamptz, now())`,
    maintainerRetentionRan: `
update ${leader} set retention_ran_at = coalesce($2::timestamptz, now())
where name = '${LEADER_ROW}' and holder = $1 and lease_until > coalesce($2::timestamptz, now())`,
  };
}

/**
 * SQL of recurring schedules (migration 0006): managing them, and firing them from the elected
 * maintainer. A fire's task carries `(schedule_name, schedule_fire_at)`, unique: one task per
 * fire time whatever races. Every statement takes "now" as a parameter that may be null.
 * @module
 */
import { quoteSchema } from '../schema-name.ts';
import { leaderFence } from './maintainer-statements.ts';

export interface ScheduleStatements {
  /**
   * Creates schedule $1 (cron $2, timezone $3, task $4, args $5, kwargs $6, options $7 as JSON
   * text, misfire $8, misfire_limit $9, grace $10, skip_if_unfinished $11, paused $12, source
   * $13, next_fire_at $14); no row when the name is taken.
   */
  readonly scheduleInsert: string;
  /**
   * The same fields as `scheduleInsert` replace schedule $1's definition (pause state and
   * counters kept); `next_fire_at` becomes $14 only when the cron or time zone changed or it
   * had none. With $13 = 'code' (a declared schedule synced at start) it inserts when missing.
   */
  readonly scheduleUpsert: string;
  /** Updates schedule $1 (same fields; $12 = true pauses it, false keeps its state); no row when unknown. */
  readonly scheduleUpdate: string;
  /** Pauses ($2 = true) or resumes schedule $1; resuming sets `next_fire_at` $3 (from now on). */
  readonly scheduleSetPaused: string;
  readonly scheduleDelete: string;
  /** One schedule ($1) with its last task's status (`last_task_status`). */
  readonly scheduleGet: string;
  /** Every schedule by name, with its last task's status. */
  readonly scheduleList: string;
  /** Up to $2 schedules due at now ($1): not paused, `next_fire_at` passed, soonest first. */
  readonly scheduleDue: string;
  /** The earliest `next_fire_at` of a schedule that is not paused (`next`; null when none). */
  readonly scheduleNextFire: string;
  /**
   * Fires schedule $2 as leader $1 (fenced): creates one task per fire time, ids $3 (text[])
   * at times $4 (timestamptz[]), unless `skip_if_unfinished` and its last task is unfinished;
   * then sets `next_fire_at` $5, adds $6 to the skipped count, all only if `next_fire_at` is
   * still $7 (nobody changed the schedule meanwhile). $8 = now. Returns the schedule row
   * (`fired` = the created tasks as JSON: id, queue, name, fire_at); no row when fenced out or
   * changed meanwhile.
   */
  readonly scheduleFire: string;
}

const COLUMNS = `name, cron, timezone, task_name, args, kwargs, options, misfire, misfire_limit,
  misfire_grace_seconds, skip_if_unfinished, paused, source, next_fire_at`;
const VALUES = `$1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb, $8, $9, $10, $11, $12, $13, $14`;
const SET_DEFINITION = `cron = $2, timezone = $3, task_name = $4, args = $5::jsonb, kwargs = $6::jsonb,
  options = $7::jsonb, misfire = $8, misfire_limit = $9, misfire_grace_seconds = $10,
  skip_if_unfinished = $11, source = $13, updated_at = now()`;

/** Builds the schedule statements for `schema`. */
export function scheduleStatements(schema: string): ScheduleStatements {
  const q = quoteSchema(schema);
  const schedules = `${q}.schedules`;
  const tasks = `${q}.tasks`;
  const withStatus = `select s.*, t.status as last_task_status
  from ${schedules} s left join ${tasks} t on t.id = s.last_task_id`;
  const now = 'coalesce($8::timestamptz, now())';
  return {
    scheduleInsert: `insert into ${schedules} (${COLUMNS}) values (${VALUES})
on conflict (name) do nothing returning *`,
    scheduleUpsert: `insert into ${schedules} as s (${COLUMNS}) values (${VALUES})
on conflict (name) do update set ${SET_DEFINITION},
  next_fire_at = case when s.next_fire_at is null or s.cron <> excluded.cron or s.timezone <> excluded.timezone
                      then excluded.next_fire_at else s.next_fire_at end
returning *`,
    scheduleUpdate: `update ${schedules} s set ${SET_DEFINITION}, paused = s.paused or $12,
  next_fire_at = case when s.next_fire_at is null or s.cron <> $2 or s.timezone <> $3
                      then $14::timestamptz else s.next_fire_at end
where name = $1 returning *`,
    scheduleSetPaused: `update ${schedules} set paused = $2,
  next_fire_at = case when $2 then next_fire_at else $3::timestamptz end, updated_at = now()
where name = $1 returning *`,
    scheduleDelete: `delete from ${schedules} where name = $1 returning name`,
    scheduleGet: `${withStatus} where s.name = $1`,
    scheduleList: `${withStatus} order by s.name`,
    scheduleDue: `select * from ${schedules}
where not paused and next_fire_at <= coalesce($1::timestamptz, now())
order by next_fire_at limit $2`,
    scheduleNextFire: `select min(next_fire_at) as next from ${schedules} where not paused`,
    scheduleFire: `
with s as (
  select * from ${schedules}
  where name = $2 and next_fire_at is not distinct from $7::timestamptz
    and ${leaderFence(schema, '$1', now)}
),
held as (
  select 1 from s join ${tasks} last on last.id = s.last_task_id
  where s.skip_if_unfinished and last.status in ('PENDING', 'PROGRESS')
),
inserted as (
  insert into ${tasks} (id, name, args, kwargs, queue, priority, timeout, max_retries, run_at,
                        created_at, updated_at, schedule_name, schedule_fire_at)
  select f.id, s.task_name, s.args, s.kwargs, coalesce(s.options->>'queue', 'default'),
         coalesce((s.options->>'priority')::int, 0),
         case when s.options ? 'timeout' then (s.options->>'timeout')::int else 300 end,
         (s.options->>'maxRetries')::int, ${now}, ${now}, ${now}, s.name, f.fire_at
  from s cross join unnest($3::text[], $4::timestamptz[]) as f(id, fire_at)
  where not exists (select 1 from held)
  on conflict (schedule_name, schedule_fire_at) where schedule_name is not null do nothing
  returning id, queue, name, schedule_fire_at
)
update ${schedules} u
set next_fire_at = $5::timestamptz,
    last_fire_at = coalesce((select max(schedule_fire_at) from inserted), u.last_fire_at),
    last_task_id = coalesce((select id from inserted order by schedule_fire_at desc limit 1), u.last_task_id),
    fired_count = u.fired_count + (select count(*) from inserted),
    skipped_count = u.skipped_count + $6 + case when exists (select 1 from held) then cardinality($3::text[]) else 0 end,
    updated_at = ${now}
from s
where u.name = s.name
returning u.*, coalesce((select json_agg(json_build_object('id', id, 'queue', queue, 'name', name,
  'fire_at', schedule_fire_at)) from inserted), '[]'::json) as fired`,
  };
}

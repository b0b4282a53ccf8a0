/**
 * Dead letters: the SQL behind `redriveFailed` and `failureReasons` (src/core/service/
 * redrive-failed.ts). Every statement reads `FAILED` tasks through `tasks_failed_id_idx`
 * (migration 0002, `(status, id)` for FAILED and CANCELLED), with the same filters in the same
 * places: $1 name, $2 queue, $3 error_type (each `null` for any), $4 and $5 a `finished_at`
 * range (from inclusive, to exclusive; `null` for open). Drivers run unnamed statements, which
 * Postgres plans with the actual parameters, so a null filter folds away.
 * @module
 */
import { quoteSchema } from '../schema-name.ts';
import { TASK_REQUEUE_SET } from './task-query-statements.ts';

/** The dead-letter statements of one schema. */
export interface RedriveStatements {
  /**
   * How many `FAILED` tasks match the filters ($1–$5): `matched` (int8, a string) and
   * `last_id`, the newest one's id (`null` when none), which bounds a redrive to the tasks
   * that had failed when it started.
   */
  readonly failedTaskCount: string;
  /**
   * One batch of a redrive: locks up to $8 matching `FAILED` tasks (filters $1–$5), oldest
   * first, with ids after $6 (`null`: from the first) up to $7, skipping rows locked
   * elsewhere, and moves them back to `PENDING` exactly as `taskRetry` does. A task whose
   * uniqueKey an unfinished task holds (or an older task of the same batch takes) stays
   * `FAILED`. One row per locked task: `id`, and `moved` with `queue`, `name`, `attempt`, or
   * `moved = false` for one left `FAILED`. Fewer rows than $8: nothing more to look at.
   */
  readonly failedTaskRedrive: string;
  /**
   * Matching `FAILED` tasks (filters $1–$5) grouped by `error_type` (null is a group), the
   * $6 biggest groups, biggest first: `count` (int8), `last_seen` (the latest `finished_at`),
   * `sample_id` (the newest task of the group) and `sample_error` (its message, first 500
   * characters).
   */
  readonly failedTaskReasons: string;
}

/** Longest sample error message `failedTaskReasons` returns, in characters. */
export const SAMPLE_ERROR_LENGTH = 500;

const FILTERS = `status = 'FAILED'
    and ($1::text is null or name = $1::text)
    and ($2::text is null or queue = $2::text)
    and ($3::text is null or error_type = $3::text)
    and ($4::timestamptz is null or finished_at >= $4::timestamptz)
    and ($5::timestamptz is null or finished_at < $5::timestamptz)`;

/** Builds the dead-letter statements for `schema`. */
export function redriveStatements(schema: string): RedriveStatements {
  const tasks = `${quoteSchema(schema)}.tasks`;
  return {
    failedTaskCount: `
select count(*)::int8 as matched, max(id) as last_id from ${tasks}
where ${FILTERS}`,
    // Each batch is its own short transaction: the rows it locks (at most 1,000, by the
    // caller's batch size) are held only while it runs, and `skip locked` never waits on a
    // worker or a single retry. The uniqueKey check reads tasks_unique_key_idx; a holder that
    // commits between the check and the update fails the batch with a unique violation, which
    // the caller retries (the holder is then visible, and the task is skipped).
    failedTaskRedrive: `
with locked as (
  select id, unique_key from ${tasks}
  where ${FILTERS}
    and ($6::text is null or id > $6::text)
    and id <= $7::text
  order by id
  limit $8::int
  for update skip locked
),
blocked as (
  select l.id from locked l
  where l.unique_key is not null
    and (exists (select 1 from ${tasks} h
                 where h.unique_key = l.unique_key and h.status in ('PENDING', 'PROGRESS'))
         or exists (select 1 from locked o where o.unique_key = l.unique_key and o.id < l.id))
),
moved as (
  update ${tasks} t
  set ${TASK_REQUEUE_SET}
  from locked l
  where t.id = l.id and not exists (select 1 from blocked b where b.id = l.id)
  returning t.id, t.queue, t.name, t.attempt
)
select id, queue, name, attempt, true as moved from moved
union all
select id, null, null, null, false from blocked`,
    // The groups first, then one row per kept group for its sample: a sample taken inside the
    // aggregate (array_agg of every message) would hold all of a group's messages in memory.
    failedTaskReasons: `
with groups as (
  select error_type, count(*)::int8 as count, max(finished_at) as last_seen, max(id) as sample_id
  from ${tasks}
  where ${FILTERS}
  group by error_type
  order by count(*) desc, error_type nulls last
  limit $6::int
)
select g.error_type, g.count, g.last_seen, g.sample_id, left(t.error, ${SAMPLE_ERROR_LENGTH}) as sample_error
from groups g left join ${tasks} t on t.id = g.sample_id
order by g.count desc, g.error_type nulls last`,
  };
}

/**
 * SQL for the `tasks` table. Every state change is one parameterised statement; nothing
 * else in the code base writes SQL against `tasks`.
 * @module
 */
import { quoteSchema } from './schema-name.ts';

const UNFINISHED = `('PENDING', 'PROGRESS')`;

/** The statements of one schema, built once per client. */
export interface TaskStatements {
  /**
   * Inserts N tasks from one JSON array param ($1) of
   * `{id,name,args,kwargs,queue,priority,timeout,max_retries,run_at,delay,unique_key}`
   * and returns one row per input, in input order: the new task, or for a `unique_key`
   * that already has an unfinished task, that task. Idempotent per `id`: re-running the
   * statement after an ambiguous network failure returns the rows it inserted before.
   */
  readonly taskInsertMany: string;
  /** One task by id ($1). */
  readonly taskGet: string;
  /**
   * Cancels a `PENDING` or `PROGRESS` task ($1 = id) and returns it with `changed = true`;
   * returns an already-final task unchanged with `changed = false`; no row when unknown.
   */
  readonly taskCancel: string;
}

/** Builds the task statements for `schema`. */
export function taskStatements(schema: string): TaskStatements {
  const tasks = `${quoteSchema(schema)}.tasks`;
  return {
    taskInsertMany: `
with input as (
  select x.*, element.ord
  from jsonb_array_elements($1::jsonb) with ordinality as element(value, ord)
  cross join lateral jsonb_to_record(element.value) as x(
    id text, name text, args jsonb, kwargs jsonb, queue text, priority int, timeout int,
    max_retries int, run_at timestamptz, delay float8, unique_key text)
),
inserted as (
  insert into ${tasks} (id, name, args, kwargs, queue, priority, timeout, max_retries, run_at, unique_key)
  select id, name, args, kwargs, queue, priority, timeout, max_retries,
         coalesce(run_at, now() + make_interval(secs => coalesce(delay, 0))), unique_key
  from input
  order by ord
  on conflict do nothing
  returning *
),
missing as (
  -- Rows not inserted: a unique_key that already has an unfinished task, or an id inserted by
  -- an earlier run of this same statement. Rare, so their index lookups cost nothing usually.
  select input.* from input where not exists (select 1 from inserted where inserted.id = input.id)
)
select inserted.*, input.ord from inserted join input on input.id = inserted.id
union all
select found.*, missing.ord
from missing
cross join lateral (
  (select existing.* from ${tasks} existing where existing.id = missing.id)
  union all
  (select existing.* from ${tasks} existing
   where missing.unique_key is not null and existing.unique_key = missing.unique_key
     and existing.status in ${UNFINISHED})
  union all
  (select ins.* from inserted ins where missing.unique_key is not null and ins.unique_key = missing.unique_key)
  limit 1
) found
order by ord`,
    taskGet: `select * from ${tasks} where id = $1`,
    taskCancel: `
with cancelled as (
  update ${tasks}
  set status = 'CANCELLED', finished_at = now(), updated_at = now(), lease_until = null
  where id = $1 and status in ${UNFINISHED}
  returning *
)
select *, true as changed from cancelled
union all
select *, false from ${tasks} where id = $1 and not exists (select 1 from cancelled)`,
  };
}

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
  /**
   * Inserts one task — $1 id, $2 name, $3 args (JSON), $4 kwargs (JSON), $5 queue,
   * $6 priority, $7 timeout, $8 max_retries, $9 run_at (null: now + $10 seconds),
   * $11 unique_key — and returns it, or, when it conflicts, the task holding its id or the
   * unfinished task holding its unique_key. The single-task form of `taskInsertMany`:
   * cheaper to plan and to prepare (createTask is the hot path of edge apps).
   */
  readonly taskInsertOne: string;
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
    taskInsertOne: `
with inserted as (
  insert into ${tasks} (id, name, args, kwargs, queue, priority, timeout, max_retries, run_at, unique_key)
  values ($1, $2, $3::jsonb, $4::jsonb, $5, $6, $7, $8,
          coalesce($9::timestamptz, now() + make_interval(secs => $10::float8)), $11)
  on conflict do nothing
  returning *
)
select * from inserted
union all
(select * from ${tasks}
 where not exists (select 1 from inserted)
   and (id = $1 or ($11::text is not null and unique_key = $11 and status in ${UNFINISHED}))
 limit 1)`,
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

/**
 * SQL for the `tasks` table. Every state change is one parameterised statement; nothing
 * else in the code base writes SQL against `tasks`.
 * @module
 */
import { quoteSchema } from '../schema-name.ts';
import { createTaskFunctionStatements } from './create-task-function.ts';
import { traceStatements } from './trace-statements.ts';

const UNFINISHED = `('PENDING', 'PROGRESS')`;

// A timestamp as whole milliseconds since 1970 (int8, floored: what drivers' Dates hold).
// Cheaper to format and parse than a timestamptz, per row of a bulk insert.
const epochMs = (column: string) => `floor(extract(epoch from ${column}) * 1000)::int8`;

/** The statements of one schema, built once per client. */
export interface TaskStatements {
  /**
   * Inserts N tasks from one JSON array param ($1) of positional records
   * `[id, name, args, kwargs, queue, priority, timeout, max_retries, run_at, delay, unique_key,
   * concurrency_key, concurrency_key_limit, trace_context]`,
   * for batches without a `unique_key`, and returns one row: `inserted` (the count) and `now_us`
   * (the database's now(), epoch microseconds, int8): the client knows every column from that.
   * No conflict handling, which spares Postgres a speculative check of the unique indexes per
   * row; ids are fresh and random, so a conflict would be an error, not a duplicate. Sending
   * no row per task back took ~8% more off the statement. Positional records instead of
   * objects took another ~25% off: Postgres parses the whole parameter into jsonb first, and
   * eleven keys per task were most of it.
   */
  readonly taskInsertMany: string;
  /**
   * `taskInsertMany` that also sends `pg_notify($2[i], $3[i])` for each pair of the text
   * arrays $2 (channels) and $3 (messages): the wake-ups go out with the insert's commit.
   */
  readonly taskInsertManyNotify: string;
  /**
   * `taskInsertMany` for batches with a `unique_key`: `on conflict do nothing`, returning
   * `id, run_at_ms, created_at_ms` (epoch milliseconds, int8) of the rows it inserted. An input
   * left out conflicted: its id exists (a re-run of the same call) or its `unique_key` has an
   * unfinished task; `taskInsertConflicts` reads those.
   */
  readonly taskInsertManyDeduplicated: string;
  /**
   * The rows an insert conflicted with: tasks whose id is in $1 (text[]), and unfinished
   * tasks whose unique_key is in $2 (text[]).
   */
  readonly taskInsertConflicts: string;
  /**
   * Inserts one task — $1 id, $2 name, $3 args (JSON), $4 kwargs (JSON), $5 queue,
   * $6 priority, $7 timeout, $8 max_retries, $9 run_at (null: now + $10 seconds),
   * $11 unique_key, $12 concurrency_key, $13 concurrency_key_limit, $14 trace_context (the
   * creating span's, see src/core/tracing/; null without tracing) — and returns it, or, when it
   * conflicts, the task holding its id or the
   * unfinished task holding its unique_key. The single-task form of `taskInsertMany`:
   * cheaper to plan and to prepare (createTask is the hot path of edge apps).
   */
  readonly taskInsertOne: string;
  /**
   * `taskInsertOne` that also sends `pg_notify($15[i], $16[i])` for each pair of the text
   * arrays $15 (channels) and $16 (messages) when it inserted the task (not on a conflict).
   */
  readonly taskInsertOneNotify: string;
  /**
   * Stores a task of `uniqueMode` pending, throttle or debounce through the `create_task` SQL
   * function (migration 0009 serialises the callers of a key there): its arguments and row as
   * `taskCreateByFunction`'s. Not used for the default mode, whose insert is one plain statement.
   */
  readonly taskCreateDeduplicated: string;
  /** Sets the trace context the column's default reads, for the rest of a transaction (trace-statements.ts). */
  readonly traceContextSet: string;
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
  // `->>` of a JSON null is SQL null. Field positions: see `taskInsertMany`.
  const insertSelect = `
insert into ${tasks} (id, name, args, kwargs, queue, priority, timeout, max_retries, run_at, unique_key,
                      concurrency_key, concurrency_key_limit, trace_context)
select r->>0, r->>1, r->2, r->3, r->>4, (r->>5)::int, (r->>6)::int, (r->>7)::int,
       coalesce((r->>8)::timestamptz, now() + make_interval(secs => coalesce((r->>9)::float8, 0))), r->>10,
       r->>11, (r->>12)::int, r->>13
from jsonb_array_elements($1::jsonb) as r`;
  // pg_notify of each (channel, message) pair of two text array params, when `condition` holds;
  // one row, so that the final select can join it (an unreferenced CTE would not run).
  const notified = (channels: string, messages: string, condition = 'true') => `notified as (
  select count(pg_notify(n.channel, n.message)) as sent
  from unnest(${channels}::text[], ${messages}::text[]) as n(channel, message)
  where ${condition}
)`;
  const insertMany = (notify: boolean) => `
with inserted as (${insertSelect}
  returning 1
)${notify ? `, ${notified('$2', '$3')}` : ''}
select count(*)::int as inserted, (extract(epoch from now()) * 1000000)::int8 as now_us
from inserted${notify ? ' cross join notified' : ''}`;
  const insertOne = (notify: boolean) => `
with inserted as (
  insert into ${tasks} (id, name, args, kwargs, queue, priority, timeout, max_retries, run_at, unique_key,
                        concurrency_key, concurrency_key_limit, trace_context)
  values ($1, $2, $3::jsonb, $4::jsonb, $5, $6, $7, $8,
          coalesce($9::timestamptz, now() + make_interval(secs => $10::float8)), $11, $12, $13::int, $14)
  on conflict do nothing
  returning *
)${notify ? `, ${notified('$15', '$16', 'exists (select 1 from inserted)')}` : ''}
select inserted.* from inserted${notify ? ' cross join notified' : ''}
union all
(select * from ${tasks}
 where not exists (select 1 from inserted)
   and (id = $1 or ($11::text is not null and unique_key = $11 and status in ${UNFINISHED}))
 limit 1)`;
  return {
    taskInsertMany: insertMany(false),
    taskInsertManyNotify: insertMany(true),
    taskInsertManyDeduplicated: `${insertSelect}
on conflict do nothing
returning id, ${epochMs('run_at')} as run_at_ms, ${epochMs('created_at')} as created_at_ms`,
    taskInsertConflicts: `
select * from ${tasks} where id = any($1::text[])
union all
select * from ${tasks} where unique_key = any($2::text[]) and status in ${UNFINISHED}`,
    taskInsertOne: insertOne(false),
    taskInsertOneNotify: insertOne(true),
    taskCreateDeduplicated: createTaskFunctionStatements(schema).taskCreateByFunction,
    traceContextSet: traceStatements(schema).traceContextSet,
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

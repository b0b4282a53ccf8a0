/**
 * SQL of the benchmark harness only: completion counts of each system, schema clean-up, the
 * claim-cost table fill and the server settings printed with the results. The statements the
 * benchmark measures for edge-task-worker come from `src/sql/`, unchanged.
 * @module
 */
import { quoteSchema } from '../../src/core/schema-name.ts';

/** Every bench schema starts with this, so a clean-up can never touch anything else. */
export const BENCH_SCHEMA_PREFIX = 'bench_';

function benchSchema(schema: string): string {
  if (!schema.startsWith(BENCH_SCHEMA_PREFIX)) {
    throw new Error(`Refusing to touch schema ${schema}: bench schemas start with ${BENCH_SCHEMA_PREFIX}.`);
  }
  return quoteSchema(schema);
}

/** Drops a bench schema and everything in it. */
export function schemaDrop(schema: string): string {
  return `drop schema if exists ${benchSchema(schema)} cascade`;
}

/** Names of the bench schemas whose name starts with $1 (a prefix without LIKE wildcards). */
export const benchSchemaList = `
select nspname as name from pg_namespace
where starts_with(nspname, $1::text) and starts_with(nspname, '${BENCH_SCHEMA_PREFIX}')
order by nspname`;

/**
 * edge-task-worker: tasks not `COMPLETED`. Counted this way round because tasks_status_id_idx
 * leaves COMPLETED rows out: this is a scan of that small partial index, where counting the
 * COMPLETED rows would read the whole table every 20 ms during a drain.
 */
export function edgeTaskWorkerUnfinishedCount(schema: string): string {
  return `select count(*)::int as n from ${benchSchema(schema)}.tasks where status <> 'COMPLETED'`;
}

/** edge-task-worker: tasks not COMPLETED, by status and error (a drain that ended short). */
export function edgeTaskWorkerUnfinished(schema: string): string {
  return `select status, left(error, 200) as error, count(*)::int as n from ${benchSchema(schema)}.tasks
  where status <> 'COMPLETED' group by 1, 2 order by 3 desc limit 5`;
}

/**
 * edge-task-worker: true when no task is `PENDING` or `PROGRESS`. Two `exists` probes of the
 * partial claim and lease indexes; the count above reads every row, which during a drain
 * cost Postgres a fifth of a core when polled every 20 ms.
 */
export function edgeTaskWorkerDrained(schema: string): string {
  const tasks = `${benchSchema(schema)}.tasks`;
  return `select not (exists (select 1 from ${tasks} where status = 'PENDING')
  or exists (select 1 from ${tasks} where status = 'PROGRESS')) as drained`;
}

/** graphile-worker: jobs still in its table (it deletes a job when it completes). */
export function graphileJobCount(schema: string): string {
  return `select count(*)::int as n from ${benchSchema(schema)}._private_jobs`;
}

/** graphile-worker: true when its table holds no job (completed jobs are deleted). */
export function graphileDrained(schema: string): string {
  return `select not exists (select 1 from ${benchSchema(schema)}._private_jobs) as drained`;
}

/**
 * pg-boss: jobs of queue $1 not finished yet (it keeps completed jobs until its retention ends).
 * Counted this way round for the same reason as edge-task-worker's: its partial index job_i14
 * holds only the live states (created, retry, active, failed).
 */
export function pgBossUnfinishedCount(schema: string): string {
  return `select count(*)::int as n from ${benchSchema(schema)}.job
where name = $1 and state in ('created', 'retry', 'active', 'failed')`;
}

/** pg-boss: true when queue $1 has no unfinished job (the condition of pgBossUnfinishedCount). */
export function pgBossDrained(schema: string): string {
  return `select not exists (select 1 from ${benchSchema(schema)}.job
where name = $1 and state in ('created', 'retry', 'active', 'failed')) as drained`;
}

/**
 * Fills an empty edge-task-worker `tasks` table for the claim-cost workload: $1 each of
 * finished tasks (`COMPLETED`), delayed tasks of queue `default` (created two days ago, due
 * tomorrow), and due tasks of queue `other` (created half an hour ago, after the rest), then
 * $2 due tasks of queue `default` (created an hour ago, the oldest due). A worker with
 * `--queues default` claims only the last $2; so does one for all queues, until it has claimed
 * them. One statement with generate_series: about 10 s per 1M rows on the 2-core bench machine.
 */
export function claimCostFill(schema: string): string {
  return `
insert into ${benchSchema(schema)}.tasks
  (id, name, kwargs, status, queue, created_at, run_at, started_at, finished_at, updated_at, attempt, worker_id, result, duration)
select lpad(i::text, 22, '0'), 'bench.noop', jsonb_build_object('i', i),
       case when kind = 'finished' then 'COMPLETED' else 'PENDING' end,
       case when kind = 'other' then 'other' else 'default' end,
       case kind when 'finished' then now() - interval '3 days' + make_interval(secs => i / 1000.0)
                 when 'delayed' then now() - interval '2 days' + make_interval(secs => (i - $1::int) / 1000.0)
                 when 'other' then now() - interval '30 minutes' + make_interval(secs => (i - 2 * $1::int) / 1000000.0)
                 else now() - interval '1 hour' + make_interval(secs => (i - 3 * $1::int) / 1000.0) end,
       case kind when 'finished' then now() - interval '3 days' + make_interval(secs => i / 1000.0)
                 when 'delayed' then now() + interval '1 day'
                 when 'other' then now() - interval '30 minutes' + make_interval(secs => (i - 2 * $1::int) / 1000000.0)
                 else now() - interval '1 hour' + make_interval(secs => (i - 3 * $1::int) / 1000.0) end,
       case when kind = 'finished' then now() end,
       case when kind = 'finished' then now() end,
       now(),
       case when kind = 'finished' then 1 else 0 end,
       case when kind = 'finished' then 'bench-seed' end,
       case when kind = 'finished' then 'null'::jsonb end,
       case when kind = 'finished' then 0.0001 end
from generate_series(1, 3 * $1::int + $2::int) as i,
     lateral (select case when i <= $1::int then 'finished' when i <= 2 * $1::int then 'delayed'
                          when i <= 3 * $1::int then 'other' else 'due' end as kind) as k`;
}

/** Refreshes the planner statistics of the tasks table (the worker does this at start too). */
export function tasksAnalyze(schema: string): string {
  return `analyze ${benchSchema(schema)}.tasks`;
}

/** Size of the tasks table with its indexes, in bytes. */
export function tasksTotalSize(schema: string): string {
  return `select pg_total_relation_size('${benchSchema(schema)}.tasks')::bigint as bytes`;
}

/** The server settings that decide commit cost, printed with the results. */
export const serverSettings = `
select version() as version,
       current_setting('fsync') as fsync,
       current_setting('synchronous_commit') as synchronous_commit,
       current_setting('wal_sync_method') as wal_sync_method,
       current_setting('shared_buffers') as shared_buffers,
       current_setting('max_connections') as max_connections`;

/** `statement` run under EXPLAIN ANALYZE (it executes), plan as JSON. */
export function explainAnalyze(statement: string): string {
  return `explain (analyze, format json) ${statement}`;
}

/**
 * Fills queue $1 of an edge-task-worker `tasks` table for the limited-claim workload: $2 due
 * tasks (created and due an hour ago, a millisecond apart). With $3 keys (null: none), task i
 * has concurrency key `k<i mod $3>` and a per-key limit of 1, so any $3 consecutive tasks have
 * distinct keys.
 */
export function limitedClaimFill(schema: string): string {
  return `
insert into ${benchSchema(schema)}.tasks (id, name, queue, created_at, run_at, concurrency_key, concurrency_key_limit)
select $1::text || lpad(i::text, 12, '0'), 'bench.noop', $1::text,
       now() - interval '1 hour' + make_interval(secs => i / 1000.0),
       now() - interval '1 hour' + make_interval(secs => i / 1000.0),
       case when $3::int is not null then 'k' || (i % $3::int) end,
       case when $3::int is not null then 1 end
from generate_series(1, $2::int) as i`;
}

/** Refreshes the planner statistics and visibility map of the tasks table after a fill. */
export function tasksVacuumAnalyze(schema: string): string {
  return `vacuum analyze ${benchSchema(schema)}.tasks`;
}

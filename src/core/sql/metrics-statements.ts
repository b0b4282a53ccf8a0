/**
 * SQL of the queue gauges behind `GET /metrics`: how many tasks wait, run, failed and were
 * cancelled per queue, how many are due and how long the oldest due one has waited, and the
 * table's size as the planner estimates it. One statement, read through the partial indexes
 * only, so its cost follows the unfinished, failed and cancelled tasks and not the table.
 * @module
 */
import { quoteSchema } from '../schema-name.ts';

export interface MetricsStatements {
  /**
   * Rows of (`queue`, `status`, `count`) for `PENDING`, `PROGRESS`, `FAILED` and `CANCELLED`;
   * `PENDING` rows add `due` (due now) and `oldest_due_age` (seconds the longest-waiting due
   * task has waited since it became due, on the database clock; null when none is due). One
   * more row with `queue` and `status` null carries the planner's estimate of the table's rows
   * in `count` (-1 while the table was never analysed). Counts are `int8`: strings.
   */
  readonly queueStats: string;
}

/** Builds the metrics statements for `schema`. */
export function metricsStatements(schema: string): MetricsStatements {
  const q = quoteSchema(schema);
  const tasks = `${q}.tasks`;
  // One arm per partial index, each arm's filter the index's own predicate, so each is an
  // index scan of that status only: PENDING through tasks_claim_due_idx (its key is the due
  // time), PROGRESS through tasks_lease_idx, FAILED and CANCELLED through tasks_failed_id_idx.
  // COMPLETED rows (most of a big table) have no such index and are not counted: counting them
  // is the full scan /stats does. Their rate is the workers' task_worker_tasks_completed_total,
  // and the table's size the catalog's estimate (the last arm, no scan at all).
  // Measured (PG 15, a shared 2-core machine): 1M rows of which 20k pending, running, failed
  // or cancelled: 31-48 ms at load 2, median 87 ms at load 7.5 (/stats' full scan: 0.4-0.5 s);
  // 1M pending rows: 0.3-0.6 s, as much as the full scan (it reads every pending row). Cached
  // for metricsCacheSeconds, so it runs at most once per that long, whatever scrapes it.
  return {
    queueStats: `
select queue, 'PENDING' as status, count(*)::int8 as count,
       count(*) filter (where greatest(created_at, run_at) <= now())::int8 as due,
       extract(epoch from now() - min(greatest(created_at, run_at))
         filter (where greatest(created_at, run_at) <= now()))::float8 as oldest_due_age
from ${tasks} where status = 'PENDING' group by queue
union all
select queue, 'PROGRESS', count(*)::int8, null, null
from ${tasks} where status = 'PROGRESS' group by queue
union all
select queue, status, count(*)::int8, null, null
from ${tasks} where status in ('FAILED', 'CANCELLED') group by queue, status
union all
select null, null, c.reltuples::int8, null, null
from pg_catalog.pg_class c where c.oid = to_regclass('${tasks}')`,
  };
}

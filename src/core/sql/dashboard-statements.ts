/**
 * SQL of the dashboard's charts (src/http/dashboard/chart-data.ts): tasks finished per minute
 * over the last hour, by `finished_at` on the database clock, in UTC minutes. It reads
 * `tasks_finished_at_idx` (migration 0011: finished rows by `finished_at at time zone 'UTC'`),
 * so its cost is the last hour's finished tasks, not the table: a range read, however many
 * older rows retention has not removed yet.
 *
 * Queue depth over time has no statement: the table keeps only each task's latest state (a
 * retry clears `started_at` and `finished_at`, retention deletes rows), so past depths cannot
 * be read back from it; the app samples the counts it reads anyway (see chart-data.ts).
 * @module
 */
import { quoteSchema } from '../schema-name.ts';

/** Minutes the throughput chart covers, the current (partial) one included. */
export const THROUGHPUT_MINUTES = 60;

/** The dashboard statements of one schema. */
export interface DashboardStatements {
  /**
   * `COMPLETED` and `FAILED` tasks per minute of the last {@link THROUGHPUT_MINUTES} minutes:
   * rows of `minute` (whole minutes since the epoch, int8 as a string), `status` and `count`
   * (int8). The first row is the clock: the current minute, with `status` null and count 0,
   * so the caller lines the minutes up on the database's time, not its own.
   */
  readonly dashboardThroughput: string;
}

/** Builds the dashboard statements for `schema`. */
export function dashboardStatements(schema: string): DashboardStatements {
  const tasks = `${quoteSchema(schema)}.tasks`;
  // Minutes in UTC (a timestamp without time zone, so no session time zone shifts a bucket),
  // returned as whole minutes since the epoch.
  const utc = (time: string) => `(${time} at time zone 'UTC')`;
  const minute = (time: string) => `(extract(epoch from date_trunc('minute', ${utc(time)})) / 60)::int8`;
  return {
    // The condition is on the index's own expression (finished_at in UTC), and implies its
    // predicate (finished_at is not null); CANCELLED rows are in the index too and skipped on
    // its included `status` without visiting the table.
    dashboardThroughput: `
select ${minute('now()')} as minute, null::text as status, 0::int8 as count
union all
select ${minute('finished_at')}, status, count(*)::int8
from ${tasks}
where ${utc('finished_at')} >= date_trunc('minute', ${utc('now()')}) - interval '${THROUGHPUT_MINUTES - 1} minutes'
  and status in ('COMPLETED', 'FAILED')
group by 1, 2`,
  };
}

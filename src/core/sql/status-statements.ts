/**
 * SQL of `task-worker status`: what a terminal summary needs beyond `/stats` (taskStats in
 * task-query-statements.ts): the oldest due task per queue, the running tasks per worker, and
 * the maintainer's leader. Each reads an index: the pending claim index, the lease index, the
 * leader row.
 * @module
 */
import { quoteSchema } from '../schema-name.ts';

export interface StatusStatements {
  /** Per queue with pending tasks: `due` (count due now) and `oldest_due` (when the longest-waiting due task became due). */
  readonly statusDueByQueue: string;
  /** Per worker holding tasks: `worker_id`, `running`, `lease_until` (its earliest lease end). */
  readonly statusRunningByWorker: string;
  /** The leader row: `holder`, `lease_until`, `elected_at`, and the database clock `now`. */
  readonly statusLeader: string;
}

/** Builds the status statements for `schema`. */
export function statusStatements(schema: string): StatusStatements {
  const q = quoteSchema(schema);
  return {
    statusDueByQueue: `
select queue, count(*)::int8 as due, min(greatest(created_at, run_at)) as oldest_due
from ${q}.tasks
where status = 'PENDING' and greatest(created_at, run_at) <= now()
group by queue order by queue`,
    statusRunningByWorker: `
select worker_id, count(*)::int8 as running, min(lease_until) as lease_until
from ${q}.tasks where status = 'PROGRESS'
group by worker_id order by worker_id`,
    statusLeader: `
select now() as now, m.holder, m.lease_until, m.elected_at
from (select 1) one left join ${q}.maintainer m on m.name = 'leader'`,
  };
}

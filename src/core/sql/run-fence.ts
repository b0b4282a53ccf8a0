/**
 * The fence of the writes a run makes (worker-statements.ts): which row a heartbeat, progress,
 * completion, failure, put-back or cut-off may change.
 * @module
 */

// The fence of every write a run makes (heartbeat, progress, completion, failure, put-back):
// its attempt and the lease token its claim wrote, on a row still running. The token tells
// apart two runs of one attempt by one worker (a claim lost in a crash, then claimed again);
// a row with no token (claimed before migration 0004) matches no write from this version.
// `input` is a MATERIALIZED CTE carrying the status and worker to match too (fenceColumns), so
// the whole fence is a join condition, none of it a constant on the table: with constants the
// planner reached the rows through `tasks_lease_idx`, whose entries of finished tasks stay until
// vacuum, so each write-back walked every task finished before it (a 120k-task drain ran at a
// third of a 10k one's rate; docs/BENCHMARKS.md, 2026-12-02 (f)). Now: the primary key.
export const fence = (input: string) =>
  `t.id = ${input}.id and t.attempt = ${input}.attempt and t.lease_token::text = ${input}.token
  and t.status = ${input}.running and t.worker_id = ${input}.worker`;

/** The columns {@link fence} reads beside id, attempt and token: `worker` is the given parameter. */
export const fenceColumns = (worker: string) => `'PROGRESS'::text as running, ${worker}::text as worker`;

-- An index of finished tasks by when they finished (in UTC), for the dashboard's charts.
-- migration: no-transaction
--
-- The dashboard counts the tasks finished in each minute of the last hour
-- (dashboardThroughput in src/core/sql/dashboard-statements.ts) while a page is open, every few
-- seconds. Without an index on finished_at that is a scan of the whole table each time; with
-- it, a range read of the last hour's finished rows.
--
-- Partial: only finished rows have an entry, so the claim, heartbeats and the sweep (which
-- change unfinished rows) never touch it, and a task adds one entry when it finishes. Those
-- writes change `status`, which partial indexes name, so they were never HOT updates: no update
-- loses HOT because of this index. `status` is included so CANCELLED rows are skipped inside
-- the index.
--
-- On `finished_at at time zone 'UTC'` (minutes are counted in UTC) rather than on finished_at
-- itself: no other statement filters on that expression, so the index serves the charts only.
-- On plain finished_at, the planner took it for the dead-letter statements' `finished_at`
-- range filters instead of tasks_failed_id_idx (test/redrive-plan.test.ts).
--
-- Compatible: older workers and clients neither read nor need it. Built without blocking
-- writes; idempotent, so a run that dies part-way is retried.

create index concurrently if not exists tasks_finished_at_idx
  on :"schema".tasks ((finished_at at time zone 'UTC')) include (status)
  where finished_at is not null;

-- One maintainer per schema: the periodic work (recovering expired leases, retention, and later
-- recurring schedules) runs on one elected leader, not on a timer in every worker.
--
-- The leader is whoever holds this row's lease. Every executor (container worker, Cloudflare
-- cron run) tries to take or renew it in the same statement that plans its next wake-up; the
-- upsert takes the row's lock, so two candidates never both win. Each maintenance statement is
-- fenced by the lease (it does nothing unless the caller holds it and it has not expired), so
-- two passes never overlap, even when a leader stalls past its lease. A dead leader's lease
-- simply expires: the next candidate to plan takes over.
--
-- `retention_ran_at` is when the last retention pass finished: retention runs once per
-- interval across all workers and restarts, not once per worker start.
--
-- Compatible: older workers neither read nor need this table (they keep their own timers).

create table :"schema".maintainer (
  name text primary key,
  holder text not null,
  lease_until timestamptz not null,
  elected_at timestamptz not null,
  retention_ran_at timestamptz
);

-- migration: breaking
--
-- The lease token: each claim writes a fresh random token that the run's heartbeats, progress,
-- completion, failure and put-back must match. A claim commits asynchronously, so a Postgres
-- crash can undo it; if the same worker then claims the task again, the lost run and the new
-- one share (id, attempt, worker_id), and only the token tells them apart.
--
-- Breaking: workers of an older version do not write the token, and their write-backs do not
-- check it, so they must not claim beside this version's workers (they refuse this schema).
-- Rows they left in PROGRESS have no token: no write of this version matches them, and the
-- sweep recovers them once their lease expires.

alter table :"schema".tasks add column lease_token uuid;

-- A PROGRESS row without a lease was never recovered (the sweep looks for an expired lease):
-- give existing ones an expired lease, so the next sweep recovers them, and forbid new ones.
update :"schema".tasks set lease_until = now() where status = 'PROGRESS' and lease_until is null;

-- NOT VALID, then VALIDATE: the ALTER only holds its strong lock for a moment, and the
-- validation scans the table under a lock that lets reads and writes go on.
alter table :"schema".tasks add constraint tasks_progress_leased
  check (status <> 'PROGRESS' or lease_until is not null) not valid;

alter table :"schema".tasks validate constraint tasks_progress_leased;

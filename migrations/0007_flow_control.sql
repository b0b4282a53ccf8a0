-- Flow control: per-queue limits (at most N running, at most N starts per period) and per-key
-- concurrency (at most N running tasks with one concurrencyKey in a queue), enforced by the claim.
-- migration: no-transaction
--
-- `queue_limits` holds a queue's limits, set by `setQueueLimits`, and the log of its recent
-- starts for the rate limit: two parallel arrays, the time of each claim that started tasks in
-- the last period and how many it started (a sliding window, so "N per period" holds for every
-- window of that length, not only for aligned ones). Only claims of that queue write the log,
-- and they hold the queue's claim lock (a transaction advisory lock) while they do.
--
-- A task's concurrencyKey and its per-key limit live on the row. `flow_controlled` marks a run
-- that counts against limits: the limited claim sets it on the tasks of limited and keyed
-- queues, and `setQueueLimits` on the tasks a queue already runs when it gets its first limits.
-- Two partial indexes: those running tasks by queue and key (the claim counts a limited queue's
-- running tasks, and a key's, from it; the plain claim of an unlimited queue adds no entry to
-- it), and pending keyed tasks by queue (workers look up which of their queues have keyed
-- tasks, one index descent per queue).
--
-- Compatible: older workers neither read the table nor the columns (they do not enforce the
-- limits either: upgrade the workers before setting limits or enqueueing with a key). No
-- transaction: the indexes are built CONCURRENTLY so a big tasks table keeps taking writes, and
-- the constraints are added NOT VALID, then validated (new columns hold only nulls). Every
-- statement is idempotent, so a run that dies part-way is retried from the start.

create table if not exists :"schema".queue_limits (
  queue text primary key check (char_length(queue) between 1 and 100),
  -- at most this many tasks of the queue in PROGRESS at once (null: no limit)
  concurrency int check (concurrency is null or concurrency between 1 and 1000000),
  -- at most rate_limit claims' worth of starts per rate_period_seconds (both null: no limit)
  rate_limit int check (rate_limit is null or rate_limit between 1 and 1000000),
  rate_period_seconds float8 check (rate_period_seconds is null or rate_period_seconds between 0.001 and 86400),
  started_at timestamptz[] not null default '{}',
  started_count int[] not null default '{}',
  updated_at timestamptz not null default now(),
  constraint queue_limits_rate_pair check ((rate_limit is null) = (rate_period_seconds is null))
);

alter table :"schema".tasks add column if not exists concurrency_key text;

alter table :"schema".tasks add column if not exists concurrency_key_limit int;

alter table :"schema".tasks add column if not exists flow_controlled boolean;

do $$
begin
  if not exists (
    select 1 from pg_constraint
    where conname = 'tasks_concurrency_key_check' and conrelid = ':"schema".tasks'::regclass
  ) then
    alter table :"schema".tasks add constraint tasks_concurrency_key_check check (
      (concurrency_key is null and concurrency_key_limit is null)
      or (char_length(concurrency_key) between 1 and 200 and concurrency_key_limit between 1 and 1000000)
    ) not valid;
  end if;
end
$$;

alter table :"schema".tasks validate constraint tasks_concurrency_key_check;

create index concurrently if not exists tasks_running_flow_idx on :"schema".tasks (queue, concurrency_key)
  where status = 'PROGRESS' and flow_controlled;

-- (queue, concurrency_key) rather than (queue): the lookups ask for keys in key order, which
-- only this index gives, so the planner never answers "does queue q have a pending keyed task?"
-- by walking all of q's pending tasks in the claim index (it guesses keyed tasks are spread
-- over every queue).
create index concurrently if not exists tasks_keyed_pending_idx on :"schema".tasks (queue, concurrency_key)
  where status = 'PENDING' and concurrency_key is not null;

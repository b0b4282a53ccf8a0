-- The tasks table: the queue itself. `:"schema"` is replaced by the configured schema
-- (default task_worker); the file also runs as is with `psql -v schema=task_worker -f`.

create table :"schema".tasks (
  id text collate "C" primary key check (char_length(id) between 1 and 64),
  name text not null check (char_length(name) between 1 and 200),
  args jsonb not null default '[]' check (jsonb_typeof(args) = 'array'),
  kwargs jsonb not null default '{}' check (jsonb_typeof(kwargs) = 'object'),
  queue text not null default 'default' check (char_length(queue) between 1 and 100),
  priority int not null default 0,
  status text not null default 'PENDING'
    check (status in ('PENDING', 'PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED')),
  -- seconds; null means no timeout (the lease still recovers the task if its worker dies)
  timeout int default 300 check (timeout is null or timeout between 1 and 604800),
  retry_count int not null default 0 check (retry_count >= 0),
  -- null means the worker's --retry default
  max_retries int check (max_retries is null or max_retries >= 0),
  run_at timestamptz not null default now(),
  result jsonb,
  error text,
  error_type text,
  error_stack text,
  error_history jsonb not null default '[]' check (jsonb_typeof(error_history) = 'array'),
  progress jsonb,
  unique_key text check (unique_key is null or char_length(unique_key) between 1 and 200),
  lease_until timestamptz,
  worker_id text,
  attempt int not null default 0 check (attempt >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  duration float8 check (duration is null or duration >= 0),
  constraint tasks_progress_owned check (status <> 'PROGRESS' or worker_id is not null)
);

-- Claim: pending tasks by priority, then queue position. A fresh task's position is its
-- creation time; a retry's is the time it became due again, so fresh tasks go before retries
-- that were due later. Partial, so finished rows (most of a big table) cost nothing.
create index tasks_claim_idx on :"schema".tasks (
  priority desc,
  (case when retry_count = 0 then created_at else run_at end),
  id
) where status = 'PENDING';

-- Sweep: running tasks whose lease expired.
create index tasks_lease_idx on :"schema".tasks (lease_until) where status = 'PROGRESS';

-- Listing by status, newest first (ids are time-ordered). COMPLETED rows, most of a big table,
-- stay out: completing a task then adds no entry here, and listing COMPLETED tasks (or all
-- tasks) walks the primary key backwards, where they are dense.
create index tasks_status_id_idx on :"schema".tasks (status, id) where status <> 'COMPLETED';

-- Queue tables churn: vacuum and analyze them early, so dead index entries of claimed tasks
-- are cleared and the planner knows how many tasks are pending.
alter table :"schema".tasks set (
  autovacuum_vacuum_scale_factor = 0.02,
  autovacuum_analyze_scale_factor = 0.02
);

-- Deduplication: at most one unfinished task per unique key.
create unique index tasks_unique_key_idx on :"schema".tasks (unique_key)
  where unique_key is not null and status in ('PENDING', 'PROGRESS');

-- Recurring schedules, fired by the elected maintainer (0005).
-- migration: no-transaction
--
-- A schedule is a cron expression in a time zone and the task each fire creates. The leader
-- keeps `next_fire_at` (worked out with croner in TypeScript) and creates the due tasks; each
-- fire's task carries (schedule_name, schedule_fire_at), and a unique index on that pair makes
-- "exactly one task per fire time" a database guarantee, whatever runs the maintainer (two
-- container workers, a Cloudflare cron run) and however they race.
--
-- Compatible: older workers neither read the table nor fill the new columns. No transaction:
-- the unique index is built CONCURRENTLY so a big tasks table keeps taking writes; every
-- statement is idempotent, so a run that dies part-way is retried from the start.

create table if not exists :"schema".schedules (
  name text primary key,
  cron text not null,
  timezone text not null default 'UTC',
  task_name text not null,
  args jsonb not null default '[]',
  kwargs jsonb not null default '{}',
  options jsonb not null default '{}',
  misfire text not null default 'skip' check (misfire in ('skip', 'last', 'all')),
  misfire_limit int not null default 10,
  misfire_grace_seconds float8 not null default 60,
  skip_if_unfinished boolean not null default false,
  paused boolean not null default false,
  source text not null default 'api' check (source in ('api', 'code')),
  next_fire_at timestamptz,
  last_fire_at timestamptz,
  last_task_id text,
  fired_count int8 not null default 0,
  skipped_count int8 not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index if not exists schedules_next_fire_idx on :"schema".schedules (next_fire_at) where not paused;

alter table :"schema".tasks add column if not exists schedule_name text;

alter table :"schema".tasks add column if not exists schedule_fire_at timestamptz;

create unique index concurrently if not exists tasks_schedule_fire_idx
  on :"schema".tasks (schedule_name, schedule_fire_at) where schedule_name is not null;

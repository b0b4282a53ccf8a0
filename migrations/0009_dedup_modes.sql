-- Dedup modes: uniqueMode 'pending' (deduplicate against a PENDING task only), 'throttle' (one
-- task per key per uniquePeriod seconds, whatever its state) and 'debounce' (a new call replaces
-- the PENDING task's args and kwargs and moves its run_at to now + uniquePeriod). The default,
-- 'unfinished', is unchanged: unique_key and tasks_unique_key_idx, one statement.
-- migration: no-transaction
--
-- A task of the three new modes keeps its key in `dedup_key` and its mode in `unique_mode`, not in
-- `unique_key`: tasks_unique_key_idx (one unfinished task per unique_key) would refuse a second
-- pending-mode task while the first runs. A key is deduplicated against tasks of the same mode
-- only. No unique index can say "one per period" or "one PENDING, several PROGRESS" for every
-- writer (a retry may requeue a task of the key), so create_task serialises the callers of one
-- (mode, key) with a transaction advisory lock, then looks for the holder with a fresh snapshot
-- (READ COMMITTED, the default: the function refuses other isolation levels for these modes).
-- A pending or debounce holder is locked FOR UPDATE while it is still PENDING: a claim that
-- takes it first makes it PROGRESS, and the call creates a new task instead; a claim that comes
-- second skips the locked row until the call commits. Two partial indexes find holders: PENDING
-- tasks by key (pending, debounce) and throttled tasks by key and creation time; rows without a
-- mode are in neither, so the default insert maintains no extra index entry.
--
-- Compatible: older workers and clients neither read nor write the columns (an older client
-- refuses the new options). No transaction: the indexes are built CONCURRENTLY so a big tasks
-- table keeps taking writes, and the constraint is added NOT VALID, then validated (the new
-- columns hold only nulls). Every statement is idempotent.

alter table :"schema".tasks add column if not exists unique_mode text;

alter table :"schema".tasks add column if not exists dedup_key text;

do $$
begin
  if not exists (
    select 1 from pg_constraint
    where conname = 'tasks_unique_mode_check' and conrelid = ':"schema".tasks'::regclass
  ) then
    alter table :"schema".tasks add constraint tasks_unique_mode_check check (
      (unique_mode is null and dedup_key is null)
      or (unique_mode in ('pending', 'throttle', 'debounce') and unique_key is null
          and char_length(dedup_key) between 1 and 200)
    ) not valid;
  end if;
end
$$;

alter table :"schema".tasks validate constraint tasks_unique_mode_check;

create index concurrently if not exists tasks_dedup_pending_idx on :"schema".tasks (dedup_key, unique_mode)
  where status = 'PENDING' and dedup_key is not null;

create index concurrently if not exists tasks_dedup_throttle_idx on :"schema".tasks (dedup_key, created_at)
  where unique_mode = 'throttle';

-- uniqueMode and uniquePeriod as the client checks them (checkUniqueMode in validate-task.ts), in
-- its order. Returns the mode to store: null for 'unfinished' (and without a uniqueKey).
create or replace function :"schema".task_unique_mode(opts jsonb, unique_key text)
returns text
language plpgsql stable security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
  given jsonb := opts -> 'uniqueMode';
  mode text := case when unique_key is not null then 'unfinished' end;
  period jsonb := opts -> 'uniquePeriod';
  seconds numeric := case when jsonb_typeof(period) = 'number' then period::numeric end;
begin
  if given is not null then
    if jsonb_typeof(given) is distinct from 'string'
        or given #>> '{}' not in ('unfinished', 'pending', 'throttle', 'debounce') then
      perform :"schema".task_validation_error('INVALID_UNIQUE_MODE', 'uniqueMode', format(
        'uniqueMode must be one of unfinished, pending, throttle, debounce, got %s.',
        :"schema".task_value_text(given)));
    end if;
    if unique_key is null then
      perform :"schema".task_validation_error('INVALID_UNIQUE_MODE', 'uniqueMode', 'uniqueMode needs a uniqueKey.');
    end if;
    mode := given #>> '{}';
  end if;
  if mode in ('throttle', 'debounce') then
    if period is null then
      perform :"schema".task_validation_error('INVALID_UNIQUE_PERIOD', 'uniquePeriod',
        format('uniqueMode %s needs a uniquePeriod (seconds).', mode));
    end if;
    if seconds is null or seconds <= 0 or seconds > 31536000 then
      perform :"schema".task_validation_error('INVALID_UNIQUE_PERIOD', 'uniquePeriod', format(
        'uniquePeriod must be a number of seconds above 0 and at most 31536000, got %s.',
        :"schema".task_value_text(period)));
    end if;
  elsif period is not null then
    perform :"schema".task_validation_error('INVALID_UNIQUE_PERIOD', 'uniquePeriod',
      'uniquePeriod is only for uniqueMode throttle or debounce.');
  end if;
  if mode = 'debounce' and (opts ? 'runAt' or opts ? 'delay') then
    perform :"schema".task_validation_error('INVALID_OPTIONS', case when opts ? 'runAt' then 'runAt' else 'delay' end,
      'uniqueMode debounce sets the run time (now + uniquePeriod): give no runAt or delay.');
  end if;
  return nullif(mode, 'unfinished');
end
$$;

-- validate_task of migration 0008 with uniqueMode and uniquePeriod, checked after uniqueKey as the
-- client does. A task of mode pending, throttle or debounce has its key in dedup_key and its mode in
-- unique_mode (unique_key null); a debounced task is due uniquePeriod seconds from now.
create or replace function :"schema".validate_task(name text, args jsonb, kwargs jsonb, options jsonb,
  max_payload_bytes int)
returns :"schema".tasks
language plpgsql stable security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
  task :"schema".tasks;
  opts jsonb := coalesce(nullif(options, 'null'), '{}');
  unknown text;
begin
  task.name := :"schema".task_label(to_jsonb(name), 'name', 'INVALID_NAME', 200);
  if task.name collate "C" !~ '^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$' then
    perform :"schema".task_validation_error('INVALID_NAME', 'name', format('Task name %s may only contain '
      'letters, digits and _ . : - / (and not start with a symbol).', to_json(task.name)));
  end if;
  if jsonb_typeof(opts) <> 'object' then
    perform :"schema".task_validation_error('INVALID_OPTIONS', 'options', 'Task options must be a plain object.');
  end if;
  select k.key into unknown from jsonb_object_keys(opts) as k(key)
  where k.key not in ('timeout', 'queue', 'priority', 'runAt', 'delay', 'maxRetries', 'uniqueKey',
    'uniqueMode', 'uniquePeriod', 'concurrencyKey', 'concurrencyKeyLimit') limit 1;
  if unknown in ('args', 'kwargs') then
    perform :"schema".task_validation_error('INVALID_OPTIONS', unknown,
      format('Pass %s as an argument of create_task, not as an option.', unknown));
  elsif unknown is not null then
    perform :"schema".task_validation_error('INVALID_OPTIONS', unknown, format('Unknown task option "%s"; known: '
      'args, kwargs, timeout, queue, priority, runAt, delay, maxRetries, uniqueKey, uniqueMode, '
      'uniquePeriod, concurrencyKey, concurrencyKeyLimit.', unknown));
  end if;
  task.args := coalesce(nullif(args, 'null'), '[]');
  task.kwargs := coalesce(nullif(kwargs, 'null'), '{}');
  if jsonb_typeof(task.args) <> 'array' then
    perform :"schema".task_validation_error('INVALID_ARGS', 'args', format('args must be an array, got %s.',
      case jsonb_typeof(task.args) when 'object' then 'a Object object' else jsonb_typeof(task.args) end));
  end if;
  if jsonb_typeof(task.kwargs) <> 'object' then
    perform :"schema".task_validation_error('INVALID_KWARGS', 'kwargs', format('kwargs must be a plain object, got %s.',
      case jsonb_typeof(task.kwargs) when 'array' then 'an array' else jsonb_typeof(task.kwargs) end));
  end if;
  perform :"schema".task_json_check(task.args, 'args');
  perform :"schema".task_json_check(task.kwargs, 'kwargs');
  perform :"schema".task_payload_check(task.args, task.kwargs, coalesce(max_payload_bytes, 1048576));
  task.timeout := case when not opts ? 'timeout' then 300 when opts -> 'timeout' = 'null' then null
    else :"schema".task_integer(opts -> 'timeout', 'timeout', 'INVALID_TIMEOUT', 1, 604800) end;
  task.queue := case when opts ? 'queue'
    then :"schema".task_label(opts -> 'queue', 'queue', 'INVALID_QUEUE', 100) else 'default' end;
  task.priority := case when opts ? 'priority'
    then :"schema".task_integer(opts -> 'priority', 'priority', 'INVALID_PRIORITY', -2147483647, 2147483647)
    else 0 end;
  task.run_at := :"schema".task_run_at(opts);
  task.max_retries := case when opts ? 'maxRetries'
    then :"schema".task_integer(opts -> 'maxRetries', 'maxRetries', 'INVALID_MAX_RETRIES', 0, 1000) end;
  task.unique_key := case when opts ? 'uniqueKey'
    then :"schema".task_label(opts -> 'uniqueKey', 'uniqueKey', 'INVALID_UNIQUE_KEY', 200) end;
  task.unique_mode := :"schema".task_unique_mode(opts, task.unique_key);
  if task.unique_mode is not null then
    -- The modes' own key column: tasks_unique_key_idx holds unfinished-mode keys only.
    task.dedup_key := task.unique_key;
    task.unique_key := null;
    if task.unique_mode = 'debounce' then
      task.run_at := now() + make_interval(secs => (opts ->> 'uniquePeriod')::float8);
    end if;
  end if;
  if opts ? 'concurrencyKey' then
    task.concurrency_key := :"schema".task_label(opts -> 'concurrencyKey', 'concurrencyKey',
      'INVALID_CONCURRENCY_KEY', 200);
    task.concurrency_key_limit := case when opts ? 'concurrencyKeyLimit'
      then :"schema".task_integer(opts -> 'concurrencyKeyLimit', 'concurrencyKeyLimit', 'INVALID_CONCURRENCY_KEY',
        1, 1000000) else 1 end;
  elsif opts ? 'concurrencyKeyLimit' then
    perform :"schema".task_validation_error('INVALID_CONCURRENCY_KEY', 'concurrencyKeyLimit',
      'concurrencyKeyLimit needs a concurrencyKey.');
  end if;
  return task;
end
$$;


-- Stores a task of mode pending, throttle or debounce (see the top of this file): under the
-- advisory lock of (schema, mode, key), returns the holder (`created` false; debounce first gives
-- it the new args and kwargs and run_at), else inserts and announces the task.
create or replace function :"schema".create_task_deduplicated(task :"schema".tasks, period float8)
returns jsonb
language plpgsql volatile security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
  stored :"schema".tasks;
  holder text;
begin
  if current_setting('transaction_isolation') <> 'read committed' then
    raise exception using errcode = '0A000', detail = 'UNIQUE_MODE_ISOLATION', message = format(
      'uniqueMode %s needs READ COMMITTED; this transaction is %s.', task.unique_mode,
      current_setting('transaction_isolation'));
  end if;
  perform pg_advisory_xact_lock(hashtextextended(
    btrim(':"schema"', '"') || ':unique:' || task.unique_mode || ':' || task.dedup_key, 0));
  if task.unique_mode = 'throttle' then
    select t.* into stored from :"schema".tasks as t
    where t.dedup_key = task.dedup_key and t.unique_mode = 'throttle'
      and t.created_at > now() - make_interval(secs => period)
    order by t.created_at desc limit 1;
  else
    select t.id into holder from :"schema".tasks as t
    where t.dedup_key = task.dedup_key and t.unique_mode = task.unique_mode and t.status = 'PENDING'
    order by t.id limit 1
    for update;
    if holder is not null and task.unique_mode = 'debounce' then
      update :"schema".tasks as t
      set args = task.args, kwargs = task.kwargs, run_at = task.run_at, updated_at = now()
      where t.id = holder
      returning t.* into stored;
    elsif holder is not null then
      select t.* into stored from :"schema".tasks as t where t.id = holder;
    end if;
  end if;
  if stored.id is not null then
    return to_jsonb(stored) || '{"created": false}';
  end if;
  task.id := :"schema".new_task_id();
  insert into :"schema".tasks as t (id, name, args, kwargs, queue, priority, timeout, max_retries, run_at,
                                    concurrency_key, concurrency_key_limit, unique_mode, dedup_key)
  values (task.id, task.name, task.args, task.kwargs, task.queue, task.priority, task.timeout,
          task.max_retries, task.run_at, task.concurrency_key, task.concurrency_key_limit,
          task.unique_mode, task.dedup_key)
  returning t.* into stored;
  perform :"schema".notify_task_created(stored);
  return to_jsonb(stored) || '{"created": true}';
end
$$;

-- create_task of migration 0008, handing the new modes to create_task_deduplicated. Validates,
-- stores and announces a task. A uniqueKey's unfinished holder is returned instead
-- (`created` false, no wake-up); if it finished between the insert that met it and the read,
-- the insert runs again, three times at most like the client, then SQLSTATE 40001 (DETAIL
-- INSERT_RACE): retry the transaction.
create or replace function :"schema".create_task(name text, args jsonb default '[]', kwargs jsonb default '{}',
  options jsonb default '{}', max_payload_bytes int default 1048576)
returns jsonb
language plpgsql volatile security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
  task :"schema".tasks := :"schema".validate_task(name, args, kwargs, options, max_payload_bytes);
  stored :"schema".tasks;
begin
  if task.unique_mode is not null then
    return :"schema".create_task_deduplicated(task,
      (coalesce(nullif(options, 'null'), '{}') ->> 'uniquePeriod')::float8);
  end if;
  for attempt in 1..3 loop
    task.id := :"schema".new_task_id();
    insert into :"schema".tasks as t (id, name, args, kwargs, queue, priority, timeout, max_retries, run_at,
                                      unique_key, concurrency_key, concurrency_key_limit)
    values (task.id, task.name, task.args, task.kwargs, task.queue, task.priority, task.timeout,
            task.max_retries, task.run_at, task.unique_key, task.concurrency_key, task.concurrency_key_limit)
    on conflict do nothing
    returning t.* into stored;
    if found then
      perform :"schema".notify_task_created(stored);
      return to_jsonb(stored) || '{"created": true}';
    end if;
    select t.* into stored from :"schema".tasks as t
    where t.unique_key = task.unique_key and t.status in ('PENDING', 'PROGRESS');
    if found then
      return to_jsonb(stored) || '{"created": false}';
    end if;
  end loop;
  raise exception using errcode = '40001', detail = 'INSERT_RACE',
    message = 'Task insert kept racing with a concurrent uniqueKey insert.';
end
$$;

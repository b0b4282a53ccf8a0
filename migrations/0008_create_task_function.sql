-- Enqueue from SQL: `:"schema".create_task(name, args, kwargs, options)` validates a task like
-- the client, inserts it and sends its LISTEN/NOTIFY wake-up inside the caller's transaction,
-- so the task exists, and workers hear of it, only if that transaction commits: for your own
-- transactions, triggers, other languages, and edge clients over Neon HTTP (`createTaskWith`:
-- LISTEN workers wake without Redis). graphile-worker's add_job is the model.
--
--   select :"schema".create_task('app.tasks.send_receipt', '[42]', '{}', '{"queue": "mail"}');
--
-- Options have the client's names (SQL NULL or JSON null for args, kwargs or options means the
-- default). A refused input raises SQLSTATE TW400 with the client's message, its code
-- (INVALID_QUEUE, ...) as DETAIL and the option as COLUMN: the TypeScript side rethrows it as
-- the same TaskValidationError. Returns the stored task as jsonb plus `created` (false: an
-- unfinished task held the uniqueKey; that task is returned and nothing is announced).
--
-- The functions run as their caller (security invoker) with search_path pinned to pg_catalog,
-- and name this schema's objects explicitly (the runner splices the schema into the bodies,
-- which `psql -v` would not). Postgres 13+: gen_random_uuid is core there, no pgcrypto.
-- Compatible: older workers do not call these functions.

-- Refuses a task input. The checks are `stable`, so no plan folds a constant call into an error;
-- those with a backslash in a pattern pin standard_conforming_strings, whatever the session's.
create or replace function :"schema".task_validation_error(error_code text, field text, message text)
returns void
language plpgsql volatile security invoker
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception using errcode = 'TW400', message = message, detail = error_code, column = field;
end
$$;

-- A JSON value as the client's error messages print it (describeValue in validate-task.ts).
create or replace function :"schema".task_value_text(value jsonb)
returns text
language sql immutable security invoker
set search_path = pg_catalog, pg_temp
as $$
  select case jsonb_typeof(value)
    when 'string' then case when char_length(value #>> '{}') > 50
      then left(value #>> '{}', 50) || '…' else value #>> '{}' end
    when 'array' then 'an array'
    when 'object' then 'an object'
    else coalesce(value::text, 'undefined')
  end
$$;

-- A name, queue or key: a non-empty string of at most `max_length` UTF-16 code units, as the
-- client counts (text holds no NUL or lone surrogate, so that check of the client has no twin).
create or replace function :"schema".task_label(value jsonb, field text, error_code text, max_length int)
returns text
language plpgsql stable security invoker
set search_path = pg_catalog, pg_temp
set standard_conforming_strings = on
as $$
declare
  label text := value #>> '{}';
  units int;
begin
  if jsonb_typeof(value) is distinct from 'string' then
    perform :"schema".task_validation_error(error_code, field, format('%s must be a string, got %s.',
      field, case when value is null then 'undefined' when jsonb_typeof(value) in ('null', 'array', 'object')
        then 'object' else jsonb_typeof(value) end));
  end if;
  if label = '' then
    perform :"schema".task_validation_error(error_code, field, format('%s must not be empty.', field));
  end if;
  units := char_length(label) + char_length(regexp_replace(label, '[^\U00010000-\U0010FFFF]', '', 'g'));
  if units > max_length then
    perform :"schema".task_validation_error(error_code, field,
      format('%s is %s characters long; the limit is %s.', field, units, max_length));
  end if;
  return label;
end
$$;

-- An integer option from `min_value` to `max_value` (a JSON number without a fraction).
create or replace function :"schema".task_integer(value jsonb, field text, error_code text,
  min_value bigint, max_value bigint)
returns int
language plpgsql stable security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
  -- CASE, not OR: only a JSON number is cast (SQL does not promise to evaluate OR in order).
  number numeric := case when jsonb_typeof(value) = 'number' then value::numeric end;
begin
  if number is null or number <> trunc(number) or number < min_value or number > max_value then
    perform :"schema".task_validation_error(error_code, field,
      format('%s must be an integer from %s to %s, got %s.', field, min_value, max_value,
        :"schema".task_value_text(value)));
  end if;
  return number::int;
end
$$;

-- What JSON.parse would not give back: nesting deeper than 64 arrays and objects (the client
-- refuses those), and numbers beyond a double's range (they would come back as Infinity).
create or replace function :"schema".task_json_check(value jsonb, field text)
returns void
language plpgsql stable security invoker
set search_path = pg_catalog, pg_temp
as $$
begin
  -- strict `.**{64}`: the items 64 levels below the root, through arrays and objects alike.
  if jsonb_path_exists(value, 'strict $.**{64} ? (@.type() == "array" || @.type() == "object")') then
    perform :"schema".task_validation_error('NOT_JSON', field,
      format('%s is nested deeper than 64 levels, which is not JSON; flatten it.', field));
  end if;
  -- 2^1024 - 2^970: the smallest magnitude that a double rounds to Infinity.
  if jsonb_path_exists(value, 'strict $.** ? (@.type() == "number" && (@ >= $big || @ <= -$big))',
      jsonb_build_object('big', 2::numeric ^ 1024 - 2::numeric ^ 970)) then
    perform :"schema".task_validation_error('NOT_JSON', field,
      format('%s holds a number beyond the range of a double, which is not JSON; pass it as a string.', field));
  end if;
end
$$;

-- args and kwargs together at most `max_bytes` of compact JSON, as the client counts. jsonb's text
-- adds a space after each `,` and `:` (none elsewhere outside strings): an upper bound, so the
-- exact size is counted only when that is over.
create or replace function :"schema".task_payload_check(args jsonb, kwargs jsonb, max_bytes int)
returns void
language plpgsql stable security invoker
set search_path = pg_catalog, pg_temp
set standard_conforming_strings = on
as $$
declare
  args_text text := args::text;
  kwargs_text text := kwargs::text;
  bytes bigint;
begin
  if octet_length(args_text) + octet_length(kwargs_text) <= max_bytes then
    return;
  end if;
  select sum(octet_length(p.json) - octet_length(q.outside) + octet_length(replace(q.outside, ' ', '')))
  into bytes
  from (values (args_text), (kwargs_text)) as p(json)
  cross join lateral (select regexp_replace(p.json, '"(?:[^"\\]|\\.)*"', '', 'g')) as q(outside);
  if bytes > max_bytes then
    perform :"schema".task_validation_error('PAYLOAD_TOO_LARGE', 'args', format(
      'args and kwargs take %s bytes as JSON; the limit is %s. Store large data elsewhere and pass a reference.',
      bytes, max_bytes));
  end if;
end
$$;

-- When the task may run: `runAt` or `delay` seconds from now, not both. runAt must look like
-- ISO 8601: Postgres also reads 'tomorrow', 'epoch' and 'infinity', which the client refuses.
create or replace function :"schema".task_run_at(options jsonb)
returns timestamptz
language plpgsql stable security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
  value jsonb := options -> 'runAt';
  delay jsonb := options -> 'delay';
  seconds numeric := case when jsonb_typeof(delay) = 'number' then delay::numeric end;
  run_at timestamptz;
begin
  if value is not null and delay is not null then
    perform :"schema".task_validation_error('INVALID_OPTIONS', 'delay', 'Give runAt or delay, not both.');
  end if;
  if delay is not null then
    if seconds is null or seconds < 0 or seconds > 31536000 then
      perform :"schema".task_validation_error('INVALID_DELAY', 'delay',
        format('delay must be a number of seconds from 0 to 31536000, got %s.', :"schema".task_value_text(delay)));
    end if;
    return now() + make_interval(secs => seconds::float8);
  end if;
  if value is null then return now(); end if;
  if jsonb_typeof(value) = 'string' and value #>> '{}' collate "C" ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}' then
    begin
      run_at := (value #>> '{}')::timestamptz;
    exception when data_exception then
      run_at := null;
    end;
  end if;
  if run_at is null then
    perform :"schema".task_validation_error('INVALID_RUN_AT', 'runAt', format(
      'runAt must be a valid Date or ISO 8601 string, got %s.', :"schema".task_value_text(value)));
  end if;
  if run_at < '0001-01-01 00:00:00+00' or run_at > '9999-12-31 23:59:59.999+00' then
    perform :"schema".task_validation_error('INVALID_RUN_AT', 'runAt',
      format('runAt must be between years 1 and 9999, got %s.', left(value #>> '{}', 50)));
  end if;
  return date_trunc('milliseconds', run_at); -- a Date's precision, as the client sends it
end
$$;

-- The checks of the client's validateTask, in its order (so an input with several faults gets
-- the same error from both), and its defaults. Returns the columns to insert (id left null).
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
    'concurrencyKey', 'concurrencyKeyLimit') limit 1;
  if unknown in ('args', 'kwargs') then
    perform :"schema".task_validation_error('INVALID_OPTIONS', unknown,
      format('Pass %s as an argument of create_task, not as an option.', unknown));
  elsif unknown is not null then
    perform :"schema".task_validation_error('INVALID_OPTIONS', unknown, format('Unknown task option "%s"; known: '
      'args, kwargs, timeout, queue, priority, runAt, delay, maxRetries, uniqueKey, concurrencyKey, '
      'concurrencyKeyLimit.', unknown));
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

-- A task id as src/core/task-id.ts makes it: 8 characters of epoch milliseconds, 14 random ones
-- (the low 6 bits of the 14 bytes of a gen_random_uuid() without version or variant bits), in an
-- alphabet in ASCII order. Ids made in one session increase strictly, like the client's in one
-- process: within a millisecond the last id's random part counts up, so a transaction's tasks
-- keep their order. `now_ms` is for tests (default: the clock).
create or replace function :"schema".new_task_id(now_ms bigint default null)
returns text
language plpgsql volatile security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
  alphabet constant text := '-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz';
  ms bigint := coalesce(now_ms, floor(extract(epoch from clock_timestamp()) * 1000));
  last text := current_setting('edge_task_worker.last_task_id', true);
  random bytea := uuid_send(gen_random_uuid());
  prefix text := '';
  suffix text := '';
  digit int;
begin
  for i in 1..8 loop
    prefix := substr(alphabet, (ms % 64)::int + 1, 1) || prefix;
    ms := ms / 64;
  end loop;
  if char_length(last) = 22 and left(last, 8) collate "C" >= prefix then
    prefix := left(last, 8);
    suffix := right(last, 14);
    for i in reverse 14..1 loop
      digit := strpos(alphabet, substr(suffix, i, 1));
      suffix := overlay(suffix placing substr(alphabet, digit % 64 + 1, 1) from i for 1);
      exit when digit < 64;
      if i = 1 then
        -- All 14 characters wrapped around: take the next millisecond, random again.
        ms := 0;
        for j in 1..8 loop
          ms := ms * 64 + strpos(alphabet, substr(prefix, j, 1)) - 1;
        end loop;
        return :"schema".new_task_id(ms + 1);
      end if;
    end loop;
  else
    foreach digit in array array[0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14] loop
      suffix := suffix || substr(alphabet, (get_byte(random, digit) & 63) + 1, 1);
    end loop;
  end if;
  perform set_config('edge_task_worker.last_task_id', prefix || suffix, false);
  return prefix || suffix;
end
$$;

-- The Postgres channel that carries a notifier channel (postgresChannelName in the Postgres
-- notifier): the name itself up to 63 bytes (an identifier's limit); beyond, its first 40
-- bytes of whole characters, `~`, and 22 characters of the base64url SHA-256 of the name.
create or replace function :"schema".postgres_channel_name(channel text)
returns text
language plpgsql immutable strict parallel safe security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
  head text := left(channel, 40);
begin
  if octet_length(channel) <= 63 then
    return channel;
  end if;
  while octet_length(head) > 40 loop
    head := left(head, -1);
  end loop;
  return head || '~' || left(translate(encode(sha256(convert_to(channel, 'UTF8')), 'base64'), '+/', '-_'), 22);
end
$$;

-- The wake-up channel of a queue (queueChannel in src/core/events/task-events.ts), under the
-- schema name: `<schema>:queue:<queue>`, or `~` and the base64url of its UTF-8 bytes when the
-- name holds anything but letters, digits and `_ . -`.
create or replace function :"schema".queue_channel(queue text)
returns text
language sql immutable strict parallel safe security invoker
set search_path = pg_catalog, pg_temp
as $$
  select btrim(':"schema"', '"') || ':queue:' || case
    when queue collate "C" ~ '^[A-Za-z0-9_.-]+$' then queue
    -- encode() breaks base64 into lines of 76 characters.
    else '~' || translate(encode(convert_to(queue, 'UTF8'), 'base64'), '+/=' || chr(10), '-_')
  end
$$;

-- The `task_created` wake-up the client sends (taskCreatedNotifications), byte for byte but the
-- time, on the queue's channel and `<schema>:queues`: delivered at commit, never on rollback.
create or replace function :"schema".notify_task_created(task :"schema".tasks)
returns void
language plpgsql volatile security invoker
set search_path = pg_catalog, pg_temp
as $$
declare
  message constant text := '{"event":"task_created","taskId":' || to_json(task.id)::text
    || ',"status":"PENDING","queue":' || to_json(task.queue)::text || ',"name":' || to_json(task.name)::text
    || ',"attempt":0,"at":"' || to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    || '"}';
begin
  perform pg_notify(:"schema".postgres_channel_name(:"schema".queue_channel(task.queue)), message);
  perform pg_notify(:"schema".postgres_channel_name(btrim(':"schema"', '"') || ':queues'), message);
end
$$;

-- Validates, stores and announces a task. A uniqueKey's unfinished holder is returned instead
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

-- The trace context of the span that created a task (OpenTelemetry, W3C `traceparent`, with
-- `tracestate` after a space when there is one): the worker's execution span continues that
-- trace. Null for tasks created without tracing.
-- When a traced attempt fails and schedules a retry, the worker adds a second line (after a
-- newline, which neither header can contain): the `traceparent` of that attempt's run span, which
-- the next attempt's span links to (src/core/tracing/trace-context.ts); the first line is then
-- empty if the task was created without tracing.
--
-- The default reads the transaction-local setting `task_worker.trace_context`, so a task created
-- by SQL (`create_task`, a trigger) inside a transaction that set it carries it too:
--   select set_config('task_worker.trace_context', '00-<trace id>-<span id>-01', true);
-- Added first, then given its default: existing rows stay null and the table is not rewritten.
--
-- Compatible: older workers and clients neither read nor write the column.

alter table :"schema".tasks add column trace_context text;

alter table :"schema".tasks alter column trace_context
  set default nullif(current_setting('task_worker.trace_context', true), '');

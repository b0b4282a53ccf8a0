/**
 * The client's side of tracing: `createTask`, `createTasks` and `createTaskWith` each run inside
 * a PRODUCER span, a child of the active context, and store that span's context in the rows
 * they insert (`trace_context`), so that the worker's run spans continue the trace; a span the
 * SDK's sampler left out stores only that fact (`-`, see trace-context.ts).
 *
 * - Name `task_worker.create <task name>` (`task_worker.create` for a batch of several names).
 * - Attributes: `messaging.system` `edge_task_worker`, `messaging.operation.type` and
 *   `messaging.operation.name` `create`, `messaging.destination.name` (the queue, when one),
 *   `task_worker.task.name` (when one); one task: `messaging.message.id` (its id) and
 *   `task_worker.task.created` (false: a `uniqueKey` holder was returned, with its own context);
 *   a batch: `messaging.batch.message_count`.
 * - A call that throws: the span records the exception, its status is ERROR, `error.type` is
 *   the error's `code` (e.g. `INVALID_QUEUE`) or name.
 *
 * One span per call, a batch included: its tasks share the context. With no SDK registered (or
 * tracing off) no span is started and nothing is stored. Edge-safe.
 * @module
 */
import {
  loadTracingApi,
  MESSAGING_SYSTEM,
  SPAN_KIND,
  SPAN_STATUS,
  TRACER_NAME,
  tracerProviderRegistered,
  tracingOption,
  type OtelAttributes,
  type OtelSpan,
  type TracingApi,
} from './otel-api.ts';
import { formatCreatorContext, parseTraceparent, SAMPLED_FLAG, UNSAMPLED_CREATOR } from './trace-context.ts';

/** What a create call is about to store. */
export interface CreateTarget {
  name: string;
  queue: string;
}

/** What it stored: the task and whether the call created it. */
export interface CreatedTarget {
  id: string;
  created: boolean;
}

/**
 * Runs `create` inside a create span (when tracing is on), passing it the trace context to
 * store (null when off); `stored` tells what the result holds, for the span's attributes.
 */
export type CreateTracing = <R>(
  targets: readonly CreateTarget[],
  create: (traceContext: string | null) => Promise<R>,
  stored: (result: R) => readonly CreatedTarget[],
) => Promise<R>;

/**
 * The create tracing of a client: `option` is the `@opentelemetry/api` module, `false` (off),
 * or undefined (loaded at the first create if it can be). Anything else is a `ConfigError`.
 */
export function createTracing(option: TracingApi | false | undefined): CreateTracing {
  const api = tracingOption(option);
  if (api === false) return (_targets, create) => create(null);
  let tracer: CreateTracer | null | undefined = api ? new CreateTracer(api) : undefined;
  return async (targets, create, stored) => {
    if (tracer === undefined) {
      const loaded = await loadTracingApi();
      tracer ??= loaded ? new CreateTracer(loaded) : null;
    }
    return tracer && tracer.on() ? tracer.trace(targets, create, stored) : create(null);
  };
}

class CreateTracer {
  private readonly api: TracingApi;
  readonly on: () => boolean;

  constructor(api: TracingApi) {
    this.api = api;
    this.on = tracerProviderRegistered(api);
  }

  async trace<R>(
    targets: readonly CreateTarget[],
    create: (traceContext: string | null) => Promise<R>,
    stored: (result: R) => readonly CreatedTarget[],
  ): Promise<R> {
    const { api } = this;
    const parent = api.context.active();
    const span = api.trace
      .getTracer(TRACER_NAME)
      .startSpan(spanName(targets), { kind: SPAN_KIND.producer, attributes: attributes(targets) }, parent);
    const traceContext = storableContext(span);
    let result: R;
    try {
      result = await api.context.with(api.trace.setSpan(parent, span), () => create(traceContext));
    } catch (error) {
      recordError(span, error);
      span.end();
      throw error;
    }
    const [one, ...more] = targets.length === 1 ? stored(result) : [];
    if (one && more.length === 0) {
      span.setAttributes({ 'messaging.message.id': one.id, 'task_worker.task.created': one.created });
    }
    span.end();
    return result;
  }
}

function spanName(targets: readonly CreateTarget[]): string {
  const name = sole(targets.map((target) => target.name));
  return name === undefined ? 'task_worker.create' : `task_worker.create ${name}`;
}

function attributes(targets: readonly CreateTarget[]): OtelAttributes {
  const result: OtelAttributes = {
    'messaging.system': MESSAGING_SYSTEM,
    'messaging.operation.type': 'create',
    'messaging.operation.name': 'create',
  };
  const queue = sole(targets.map((target) => target.queue));
  const name = sole(targets.map((target) => target.name));
  if (queue !== undefined) result['messaging.destination.name'] = queue;
  if (name !== undefined) result['task_worker.task.name'] = name;
  if (targets.length !== 1) result['messaging.batch.message_count'] = targets.length;
  return result;
}

/** The one value all of `values` share, or undefined. */
function sole(values: readonly string[]): string | undefined {
  const first = values[0];
  return first !== undefined && values.every((value) => value === first) ? first : undefined;
}

/**
 * The span's context as `trace_context` stores it: {@link UNSAMPLED_CREATOR} when it was not
 * sampled (nothing of it is recorded, so nothing is kept); null when it has no valid context.
 */
function storableContext(span: OtelSpan): string | null {
  const context = span.spanContext();
  if (!parseTraceparent(`00-${context.traceId}-${context.spanId}-01`)) return null;
  if ((context.traceFlags & SAMPLED_FLAG) === 0) return UNSAMPLED_CREATOR;
  let traceState: string | undefined;
  try {
    traceState = context.traceState?.serialize();
  } catch {
    traceState = undefined;
  }
  return formatCreatorContext(context, traceState);
}

/** Marks `span` failed by `error`: its exception, ERROR status and `error.type`. */
export function recordError(span: OtelSpan, error: unknown): void {
  const fields = error as { name?: unknown; message?: unknown; stack?: unknown; code?: unknown } | null;
  const name = typeof fields?.name === 'string' ? fields.name : 'Error';
  const message = typeof fields?.message === 'string' ? fields.message : String(error);
  const stack = typeof fields?.stack === 'string' ? fields.stack : undefined;
  span.recordException({ name, message, stack });
  span.setAttribute('error.type', typeof fields?.code === 'string' && fields.code ? fields.code : name);
  span.setStatus({ code: SPAN_STATUS.error, message });
}

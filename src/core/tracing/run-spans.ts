/**
 * The executor's side of tracing: one CONSUMER span per run of a task, continuing the trace of
 * the span that created it (the task row's `trace_context`, see trace-context.ts).
 *
 * - Name `task_worker.run <task name>`; parent: the creating span (every attempt is its child,
 *   so all attempts share its trace); a root span when the task was created untraced; no span
 *   at all when the creating span was not sampled (its flags say so): the run follows the
 *   creator's decision, as the SDK's default parent-based sampler would, and the handler gets
 *   the creator's context, so its own spans stay out of the sample too.
 * - Link: to the previous attempt's run span, when that attempt was traced and its failure
 *   scheduled this retry (attribute `task_worker.link.type` = `previous_attempt`).
 * - Attributes: `messaging.system` `edge_task_worker`, `messaging.operation.type` `process`,
 *   `messaging.operation.name` `run`, `messaging.destination.name` (queue),
 *   `messaging.message.id` (task id), `messaging.client.id` (worker id), `task_worker.task.name`,
 *   `task_worker.task.attempt`, and at the end `task_worker.task.outcome` (see {@link RunOutcome});
 *   after a failure `error.type` and, when a retry was scheduled, `task_worker.task.retry_at`.
 * - Status ERROR, with the exception recorded, when the handler failed (threw, timed out, was
 *   aborted); otherwise left unset.
 *
 * Edge-safe: shared by the container worker (worker/container/tracing-observer.ts) and any
 * executor that wants it.
 * @module
 */
import type { SerializedError } from '../task-error.ts';
import {
  MESSAGING_SYSTEM,
  SPAN_KIND,
  SPAN_STATUS,
  TRACER_NAME,
  tracerProviderRegistered,
  type OtelContext,
  type OtelLink,
  type OtelSpan,
  type OtelSpanContext,
  type OtelTracer,
  type TracingApi,
} from './otel-api.ts';
import { formatTraceparent, parseStoredTraceContext, type ParentContext } from './trace-context.ts';

/**
 * How a run ended: `completed`; `retry` (failed, retry scheduled); `failed` (failed for good);
 * `cancelled` (the task was cancelled while it ran; nothing written); `rejected` (its write-back
 * was refused by fencing: cancelled meanwhile, or its lease lost); `interrupted` (the worker
 * stopped first: put back at shutdown, or its outcome could not be written).
 */
export type RunOutcome = 'completed' | 'retry' | 'failed' | 'cancelled' | 'rejected' | 'interrupted';

/** What a run span needs to know about its task. */
export interface RunSpanTask {
  id: string;
  name: string;
  queue: string;
  attempt: number;
  /** The row's `trace_context` as claimed. */
  traceContext: string | null;
}

/** One run's span. */
export interface RunSpan {
  /** Its W3C `traceparent`, handed to the handler as `ctx.traceparent`. */
  readonly traceparent: string;
  /** The context with this span active, for code that runs the handler in process. */
  readonly context: OtelContext;
  /** Ends the span (once; later calls do nothing). */
  end(outcome: RunOutcome, detail?: { error?: SerializedError; retryAt?: Date }): void;
}

/** Starts run spans; `start` returns undefined while no SDK is registered (then nothing is paid). */
export interface RunTracer {
  start(task: RunSpanTask): RunSpan | undefined;
}

/** A run tracer over `api` for the executor `workerId`. */
export function createRunTracer(api: TracingApi, workerId: string): RunTracer {
  const registered = tracerProviderRegistered(api);
  let tracer: OtelTracer | undefined;
  return {
    start(task) {
      if (!registered()) return undefined;
      tracer ??= api.trace.getTracer(TRACER_NAME);
      const stored = parseStoredTraceContext(task.traceContext);
      // The creator's sampler left this task out: its runs follow, as a parent-based sampler (the
      // SDK default) would decide, at no cost: no span, the creator's context handed on.
      if (stored?.parent && (stored.parent.traceFlags & SAMPLED) === 0)
        return unsampledRun(api, stored.parent);
      const parent = stored?.parent ? remoteParent(api, stored.parent) : api.ROOT_CONTEXT;
      const links: OtelLink[] = stored?.previousRun
        ? [{ context: { ...stored.previousRun, isRemote: true }, attributes: PREVIOUS_ATTEMPT }]
        : [];
      const span = tracer.startSpan(
        `task_worker.run ${task.name}`,
        { kind: SPAN_KIND.consumer, attributes: runAttributes(task, workerId), links },
        parent,
      );
      return runSpan(api, span, parent);
    },
  };
}

const SAMPLED = 0x01;

/** A run of a task its creator did not sample: the handler continues the creator's context. */
function unsampledRun(api: TracingApi, parent: ParentContext): RunSpan {
  let context: OtelContext | undefined;
  return {
    traceparent: formatTraceparent(parent),
    get context() {
      context ??= remoteParent(api, parent);
      return context;
    },
    end() {},
  };
}

const PREVIOUS_ATTEMPT = { 'task_worker.link.type': 'previous_attempt' };

function runAttributes(task: RunSpanTask, workerId: string) {
  return {
    'messaging.system': MESSAGING_SYSTEM,
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'run',
    'messaging.destination.name': task.queue,
    'messaging.message.id': task.id,
    'messaging.client.id': workerId,
    'task_worker.task.name': task.name,
    'task_worker.task.attempt': task.attempt,
  };
}

/** The context whose (remote) span is the task's creator. */
function remoteParent(api: TracingApi, parent: ParentContext): OtelContext {
  const spanContext: OtelSpanContext = {
    traceId: parent.traceId,
    spanId: parent.spanId,
    traceFlags: parent.traceFlags,
    isRemote: true,
  };
  if (parent.traceState && api.createTraceState) {
    try {
      spanContext.traceState = api.createTraceState(parent.traceState);
    } catch {
      // A tracestate the API will not take is left out, like an invalid one.
    }
  }
  return api.trace.setSpanContext(api.ROOT_CONTEXT, spanContext);
}

function runSpan(api: TracingApi, span: OtelSpan, parent: OtelContext): RunSpan {
  let ended = false;
  let context: OtelContext | undefined;
  return {
    traceparent: formatTraceparent(span.spanContext()),
    get context() {
      context ??= api.trace.setSpan(parent, span);
      return context;
    },
    end(outcome, detail = {}) {
      if (ended) return;
      ended = true;
      span.setAttribute('task_worker.task.outcome', outcome);
      const { error, retryAt } = detail;
      if (error) {
        const type = error.type ?? 'Error';
        span.recordException({ name: type, message: error.message, stack: error.stack ?? undefined });
        span.setAttribute('error.type', type);
        span.setStatus({ code: SPAN_STATUS.error, message: error.message });
      }
      if (retryAt) span.setAttribute('task_worker.task.retry_at', retryAt.toISOString());
      span.end();
    },
  };
}

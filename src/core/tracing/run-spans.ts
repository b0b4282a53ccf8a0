/**
 * The executor's side of tracing: one CONSUMER span per run of a task, continuing the trace of
 * the span that created it (the task row's `trace_context`, see trace-context.ts).
 *
 * - Name `task_worker.run <task name>`; parent: the creating span (every attempt is its child,
 *   so all attempts share its trace); a root span when the task was created untraced; no span
 *   at all when the creating span was not sampled (its flags say so, or the row stores only that
 *   fact): the run follows the creator's decision, as the SDK's default parent-based sampler
 *   would, and the handler gets an unsampled context (the creator's when stored, else a fresh
 *   one per run), so its own spans stay out of the sample too.
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
import {
  formatTraceparent,
  FRESH_UNSAMPLED,
  freshUnsampledContext,
  parseStoredTraceContext,
  SAMPLED_FLAG,
  type ParentContext,
} from './trace-context.ts';

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
  /**
   * False for a run that records nothing (its creator, or for a root run the SDK's sampler, left
   * it out): ending it does nothing, and no retry links to it.
   */
  readonly recording: boolean;
  /**
   * True for a stand-in that every run of an unsampled creator shares (nothing per run to keep:
   * {@link RunTracer.sharedRun} finds it again).
   */
  readonly shared?: boolean;
  /**
   * Ends the span (once; later calls do nothing): `error` when the handler failed, `retryAt`
   * when that failure scheduled a retry.
   */
  end(outcome: RunOutcome, error?: SerializedError, retryAt?: Date): void;
}

/**
 * Starts run spans. What it asks the API (is an SDK registered, does a context manager carry
 * contexts) is read once and again at each {@link RunTracer.refresh}, not per run: the worker
 * refreshes once per claim.
 */
export interface RunTracer {
  /** The run's span; undefined while no SDK is registered (then nothing is paid). */
  start(task: RunSpanTask): RunSpan | undefined;
  /**
   * The shared stand-in {@link start} gives every run of a task whose creator was not sampled,
   * found from the stored context alone; undefined for any other task (or with no SDK).
   */
  sharedRun(traceContext: string | null): RunSpan | undefined;
  /**
   * Whether code given a run's context would see it: false while no context manager is
   * registered (the API's default), when making the context would be wasted work.
   */
  readonly carriesContext: boolean;
  /** Reads again whether an SDK and a context manager are registered. */
  refresh(): void;
}

/** A run tracer over `api` for the executor `workerId`. */
export function createRunTracer(api: TracingApi, workerId: string): RunTracer {
  return new ApiRunTracer(api, workerId);
}

class ApiRunTracer implements RunTracer {
  carriesContext = false;
  private readonly api: TracingApi;
  private readonly workerId: string;
  private readonly registered: () => boolean;
  private readonly origins: OriginCache;
  private readonly spanNames = new Map<string, string>();
  private tracer: OtelTracer | undefined;

  constructor(api: TracingApi, workerId: string) {
    this.api = api;
    this.workerId = workerId;
    this.registered = tracerProviderRegistered(api);
    this.origins = new OriginCache(api);
    this.refresh();
  }

  refresh(): void {
    this.tracer = this.registered() ? (this.tracer ?? this.api.trace.getTracer(TRACER_NAME)) : undefined;
    this.carriesContext = this.tracer !== undefined && contextManagerRegistered(this.api);
  }

  start(task: RunSpanTask): RunSpan | undefined {
    const { tracer } = this;
    if (!tracer) return undefined;
    const origin = this.origins.of(task.traceContext);
    // The creator's sampler left this task out: its runs follow, as a parent-based sampler (the
    // SDK default) would decide, at no cost: no span, an unsampled context handed on.
    if (origin.unsampled) return origin.unsampled;
    const span = tracer.startSpan(
      this.spanName(task.name),
      { kind: SPAN_KIND.consumer, attributes: runAttributes(task, this.workerId), links: origin.links },
      origin.parent,
    );
    return new SdkRunSpan(this.api, span, origin.parent);
  }

  sharedRun(traceContext: string | null): RunSpan | undefined {
    return this.tracer ? this.origins.of(traceContext).unsampled : undefined;
  }

  private spanName(name: string): string {
    let spanName = this.spanNames.get(name);
    if (spanName === undefined) {
      if (this.spanNames.size >= NAMES_KEPT) this.spanNames.clear();
      spanName = `task_worker.run ${name}`;
      this.spanNames.set(name, spanName);
    }
    return spanName;
  }
}

/** Span names remembered (one per task name). */
const NAMES_KEPT = 1000;

/**
 * Whether the API has a context manager: a context entered with `with` is the active one inside
 * it. Without one (`NoopContextManager`) the active context is always the root.
 */
function contextManagerRegistered(api: TracingApi): boolean {
  const probe = api.trace.setSpanContext(api.ROOT_CONTEXT, PROBE_SPAN_CONTEXT);
  try {
    return api.context.with(probe, () => api.context.active() === probe);
  } catch {
    return true;
  }
}

const PROBE_SPAN_CONTEXT: OtelSpanContext = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: 0,
  isRemote: true,
};

const NO_LINKS = Object.freeze([]) as unknown as OtelLink[];

/** What a task's stored `trace_context` makes of its runs: the same for every task sharing it. */
interface Origin {
  /** The creating span's (remote) context, or the root context when it was created untraced. */
  parent: OtelContext;
  /** The link to the previous attempt's run span, if any (the SDK copies it per span). */
  links: OtelLink[];
  /** Set when the creator was not sampled: the span-less stand-in of its runs (shared). */
  unsampled?: RunSpan;
}

/**
 * Stored contexts already read, so that tasks created together (one `createTasks` call, one
 * request, one transaction: the same `trace_context` text) are parsed once and share the parent
 * context object. Bounded: forgotten all at once past {@link ORIGINS_KEPT} distinct texts.
 */
class OriginCache {
  private readonly api: TracingApi;
  private readonly origins = new Map<string, Origin>();
  private fresh: FreshUnsampledRuns | undefined;

  constructor(api: TracingApi) {
    this.api = api;
  }

  of(traceContext: string | null): Origin {
    const key = traceContext ?? '';
    let origin = this.origins.get(key);
    if (!origin) {
      if (this.origins.size >= ORIGINS_KEPT) this.origins.clear();
      origin = this.read(traceContext);
      this.origins.set(key, origin);
    }
    return origin;
  }

  private read(traceContext: string | null): Origin {
    const { api } = this;
    const stored = parseStoredTraceContext(traceContext);
    // Only the fact is stored: each run gets an unsampled context of its own, as the SDK gives
    // an unsampled root span fresh ids (one shared context would tie unrelated runs together).
    if (stored?.unsampled) {
      this.fresh ??= new FreshUnsampledRuns(api);
      return { parent: api.ROOT_CONTEXT, links: NO_LINKS, unsampled: this.fresh };
    }
    const parent = stored?.parent ? remoteParent(api, stored.parent) : api.ROOT_CONTEXT;
    if (stored?.parent && (stored.parent.traceFlags & SAMPLED_FLAG) === 0)
      return { parent, links: NO_LINKS, unsampled: new UnsampledRun(api, stored.parent) };
    const links: OtelLink[] = stored?.previousRun
      ? [{ context: { ...stored.previousRun, isRemote: true }, attributes: PREVIOUS_ATTEMPT }]
      : NO_LINKS;
    return { parent, links };
  }
}

/** Distinct stored contexts remembered by a run tracer. */
const ORIGINS_KEPT = 1000;

const PREVIOUS_ATTEMPT = { 'task_worker.link.type': 'previous_attempt' };

/** The runs of a task its creator did not sample, when its context is stored: shared by them. */
class UnsampledRun implements RunSpan {
  readonly traceparent: string;
  readonly recording = false;
  readonly shared = true;
  private readonly api: TracingApi;
  private readonly parent: ParentContext;
  private made: OtelContext | undefined;

  constructor(api: TracingApi, parent: ParentContext) {
    this.api = api;
    this.parent = parent;
    this.traceparent = formatTraceparent(parent);
  }

  get context(): OtelContext {
    this.made ??= remoteParent(this.api, this.parent);
    return this.made;
  }

  end(): void {}
}

/**
 * The runs of tasks whose creator was not sampled and stored only that fact: one object for all.
 * Each run still gets unsampled ids of its own, made only when used: the handler's
 * `ctx.traceparent` from {@link FRESH_UNSAMPLED} (run-handler.ts), each read of `context` here.
 */
class FreshUnsampledRuns implements RunSpan {
  readonly traceparent = FRESH_UNSAMPLED;
  readonly recording = false;
  readonly shared = true;
  private readonly api: TracingApi;

  constructor(api: TracingApi) {
    this.api = api;
  }

  get context(): OtelContext {
    return remoteParent(this.api, freshUnsampledContext());
  }

  end(): void {}
}

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

/** A run with an SDK span (recording, or not when the SDK's sampler left a root run out). */
class SdkRunSpan implements RunSpan {
  readonly traceparent: string;
  readonly recording: boolean;
  private readonly api: TracingApi;
  private readonly span: OtelSpan;
  private readonly parent: OtelContext;
  private withSpan: OtelContext | undefined;
  private ended = false;

  constructor(api: TracingApi, span: OtelSpan, parent: OtelContext) {
    this.api = api;
    this.span = span;
    this.parent = parent;
    this.traceparent = formatTraceparent(span.spanContext());
    // A root run the SDK's sampler left out: a span that records nothing, no retry link to it.
    this.recording = span.isRecording();
  }

  get context(): OtelContext {
    this.withSpan ??= this.api.trace.setSpan(this.parent, this.span);
    return this.withSpan;
  }

  end(outcome: RunOutcome, error?: SerializedError, retryAt?: Date): void {
    if (this.ended) return;
    this.ended = true;
    const { span } = this;
    span.setAttribute('task_worker.task.outcome', outcome);
    if (error) {
      const type = error.type ?? 'Error';
      span.recordException({ name: type, message: error.message, stack: error.stack ?? undefined });
      span.setAttribute('error.type', type);
      span.setStatus({ code: SPAN_STATUS.error, message: error.message });
    }
    if (retryAt) span.setAttribute('task_worker.task.retry_at', retryAt.toISOString());
    span.end();
  }
}

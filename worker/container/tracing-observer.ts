/**
 * OpenTelemetry for the container worker: a {@link WorkerObserver} that gives each run a
 * CONSUMER span (src/core/tracing/run-spans.ts says which name, parent, link and attributes),
 * from its start until its outcome is written back (or found cancelled, or left when the worker
 * stopped), and hands the span's context to the executor for the handler (`ctx.traceparent`;
 * in process, the span is also the active context while the handler runs).
 *
 * "Retries are linked": when a traced run's failure schedules a retry, one more statement
 * stores that run's `traceparent` beside the creator's in the row (trace-context.ts), and the
 * next attempt's span links to it. Only then: the hot path writes nothing more.
 *
 * Off, it costs nothing: no observer without `@opentelemetry/api` (or with `tracing: false`),
 * and one check per claim while no SDK is registered.
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import type { Landed, WriteBack } from '../../src/core/execution/write-back.ts';
import { traceStatements, type TraceStatements } from '../../src/core/sql/trace-statements.ts';
import {
  flushableProvider,
  loadTracingApi,
  tracingOption,
  type TracingApi,
} from '../../src/core/tracing/otel-api.ts';
import {
  createRunTracer,
  type RunOutcome,
  type RunSpan,
  type RunTracer,
} from '../../src/core/tracing/run-spans.ts';
import { withPreviousRun } from '../../src/core/tracing/trace-context.ts';
import type { RunTrace, TracedRun } from './executor.ts';
import type { Logger } from './logger.ts';
import type { ClaimedTask } from './producer.ts';
import type { WorkerObserver } from './worker-observer.ts';

/** The worker's tracing: its observers (none when off), the executor's view, and a close. */
export interface WorkerTracing {
  observers: WorkerObserver[];
  runTrace?: RunTrace;
  /** Ends the spans of runs left (put back at shutdown), then flushes the SDK (at most 2 s). */
  close(): Promise<void>;
}

export interface WorkerTracingParts {
  db: Database;
  schema: string;
  workerId: string;
  logger: Logger;
}

const FLUSH_MS = 2000;

/**
 * The tracing of a worker: `option` is the `@opentelemetry/api` module, `false` (off), or
 * undefined (the package, when it can be imported). Anything else is a `ConfigError`.
 */
export async function workerTracing(
  option: TracingApi | false | undefined,
  parts: WorkerTracingParts,
): Promise<WorkerTracing> {
  const checked = tracingOption(option);
  const api = checked === false ? undefined : (checked ?? (await loadTracingApi()));
  if (!api) return { observers: [], close: async () => undefined };
  const observer = new TracingObserver(api, createRunTracer(api, parts.workerId), parts);
  return { observers: [observer], runTrace: observer, close: () => observer.close() };
}

class TracingObserver implements WorkerObserver, RunTrace {
  /** Runs by lease token, from `started` until their outcome lands (or they stop cancelled). */
  private readonly runs = new Map<string, RunSpan>();
  /** Runs found cancelled while running: their spans end when they stop. */
  private readonly cancelledRuns = new Set<string>();
  private readonly api: TracingApi;
  private readonly tracer: RunTracer;
  private readonly parts: WorkerTracingParts;
  private readonly sql: TraceStatements;

  constructor(api: TracingApi, tracer: RunTracer, parts: WorkerTracingParts) {
    this.api = api;
    this.tracer = tracer;
    this.parts = parts;
    this.sql = traceStatements(parts.schema);
  }

  claimed(): void {
    // Whether an SDK and a context manager are registered: asked once per claim, not per run.
    this.tracer.refresh();
  }

  started(task: ClaimedTask): void {
    const span = this.tracer.start(task);
    // The stand-in all runs of an unsampled creator share is found again from the task itself.
    if (span && !span.shared) this.runs.set(task.token, span);
  }

  cancelled(task: ClaimedTask, started: boolean): void {
    if (started && this.runs.has(task.token)) this.cancelledRuns.add(task.token);
  }

  ended(task: ClaimedTask): void {
    // A cancelled run writes nothing back: its span ends when the run stops.
    if (!this.cancelledRuns.delete(task.token)) return;
    const span = this.runs.get(task.token);
    this.runs.delete(task.token);
    span?.end('cancelled');
  }

  landed(landed: readonly Landed[]): void {
    if (this.runs.size === 0) return;
    for (const { item, status, runAt } of landed) {
      const span = this.runs.get(item.token);
      if (!span) continue;
      this.runs.delete(item.token);
      if (!span.recording) continue;
      const retry = status === 'PENDING';
      span.end(
        OUTCOMES[status ?? 'null'],
        item.kind === 'fail' ? item.error : undefined,
        retry ? runAt : undefined,
      );
      if (retry) this.linkRetry(item, span.traceparent);
    }
  }

  traceparent(run: TracedRun): string | undefined {
    return this.spanOf(run)?.traceparent;
  }

  within<T>(run: TracedRun, fn: () => T): T {
    // Without a context manager nothing could read the context: it is not even made.
    if (!this.tracer.carriesContext) return fn();
    const span = this.spanOf(run);
    return span ? this.api.context.with(span.context, fn) : fn();
  }

  private spanOf(run: TracedRun): RunSpan | undefined {
    return this.runs.get(run.token) ?? this.tracer.sharedRun(run.traceContext ?? null);
  }

  async close(): Promise<void> {
    for (const span of this.runs.values()) span.end('interrupted');
    this.runs.clear();
    this.cancelledRuns.clear();
    const provider = flushableProvider(this.api);
    if (!provider) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, FLUSH_MS);
      timer.unref();
    });
    await Promise.race([provider.forceFlush().catch(() => undefined), timeout]);
    clearTimeout(timer);
  }

  /** Stores the failed run's span beside the creator's, for the retry's span to link to. */
  private linkRetry(item: WriteBack, runTraceparent: string): void {
    const { db, logger } = this.parts;
    const traceContext = withPreviousRun(item.traceContext ?? null, runTraceparent);
    db.query(this.sql.taskRetryTraceLink, [item.id, item.attempt, traceContext]).catch((error: unknown) =>
      logger.log('debug', 'trace_link_not_saved', { taskId: item.id, error: String(error) }),
    );
  }
}

const OUTCOMES: Record<NonNullable<Landed['status']> | 'null', RunOutcome> = {
  COMPLETED: 'completed',
  PENDING: 'retry',
  FAILED: 'failed',
  null: 'rejected',
};

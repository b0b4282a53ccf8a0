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
 * and one cheap check per run while no SDK is registered.
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import type { Landed } from '../../src/core/execution/write-back.ts';
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
import type { RunTrace } from './executor.ts';
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

interface Run {
  span: RunSpan;
  task: ClaimedTask;
  cancelled?: boolean;
}

class TracingObserver implements WorkerObserver, RunTrace {
  /** Traced runs by lease token, from `started` until their span ends. */
  private readonly runs = new Map<string, Run>();
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

  started(task: ClaimedTask): void {
    const span = this.tracer.start(task);
    if (span) this.runs.set(task.token, { span, task });
  }

  cancelled(task: ClaimedTask, started: boolean): void {
    const run = started ? this.runs.get(task.token) : undefined;
    if (run) run.cancelled = true;
  }

  ended(task: ClaimedTask): void {
    // A cancelled run writes nothing back: its span ends with the run.
    const run = this.runs.get(task.token);
    if (!run?.cancelled) return;
    this.runs.delete(task.token);
    run.span.end('cancelled');
  }

  landed(landed: readonly Landed[]): void {
    if (this.runs.size === 0) return;
    for (const { item, status, runAt } of landed) {
      const run = this.runs.get(item.token);
      if (!run) continue;
      this.runs.delete(item.token);
      const error = item.kind === 'fail' ? item.error : undefined;
      run.span.end(OUTCOMES[status ?? 'null'], { error, retryAt: status === 'PENDING' ? runAt : undefined });
      if (status === 'PENDING') this.linkRetry(run);
    }
  }

  traceparent(token: string): string | undefined {
    return this.runs.get(token)?.span.traceparent;
  }

  within<T>(token: string, fn: () => T): T {
    const run = this.runs.get(token);
    return run ? this.api.context.with(run.span.context, fn) : fn();
  }

  async close(): Promise<void> {
    for (const run of this.runs.values()) run.span.end('interrupted');
    this.runs.clear();
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
  private linkRetry({ task, span }: Run): void {
    const { db, logger } = this.parts;
    const traceContext = withPreviousRun(task.traceContext, span.traceparent);
    db.query(this.sql.taskRetryTraceLink, [task.id, task.attempt, traceContext]).catch((error: unknown) =>
      logger.log('debug', 'trace_link_not_saved', { taskId: task.id, error: String(error) }),
    );
  }
}

const OUTCOMES: Record<NonNullable<Landed['status']> | 'null', RunOutcome> = {
  COMPLETED: 'completed',
  PENDING: 'retry',
  FAILED: 'failed',
  null: 'rejected',
};

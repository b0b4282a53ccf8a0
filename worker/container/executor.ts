/**
 * What the worker needs from an executor: slots, run with a timeout, abort, close. Two
 * implementations: worker threads that can be killed (`executor-pool.ts`, the default) and
 * the opt-in in-process executor (`in-process-executor.ts`).
 * @module
 */
import type { SerializedError } from '../../src/core/task-error.ts';
import type { ThreadTask } from './thread-protocol.ts';
import type { DeclaredSchedules } from './load-tasks.ts';

/** How a run ended. `json` is the result as JSON text. */
export type Outcome =
  | { ok: true; json: string; duration: number }
  | { ok: false; error: SerializedError; duration: number; timedOut?: boolean; aborted?: boolean };

export interface ExecutorOptions {
  /** Tasks at once. */
  size: number;
  /** file: URL of the tasks module. */
  tasksUrl: string;
  /** Wait between the abort signal and terminating a thread, in ms (default: 1000). */
  killGraceMs?: number;
  /** A thread with no task for this long stops, down to one (default: 60,000 ms). */
  idleThreadMs?: number;
  /** A running task reported progress; `token` is its run's lease token (see {@link ThreadTask}). */
  onProgress?: (token: string, json: string) => void;
  /** Called when a slot becomes free (a task ended or a thread became ready). */
  onSlotFree?: () => void;
  /** Called when an execution thread has loaded the tasks module: how many are ready now. */
  onThreadReady?: (threads: number) => void;
  /** Called when an idle execution thread was stopped: how many are left. */
  onThreadRetired?: (threads: number) => void;
  /** The runs' spans, when the worker traces (tracing-observer.ts). */
  runTrace?: RunTrace;
}

/** A run as {@link RunTrace} finds it: its lease token, and its task's stored trace context. */
export interface TracedRun {
  token: string;
  /** The claimed task's `trace_context` (callers pass the claimed task; absent: none). */
  traceContext?: string | null;
}

/** What an executor hands a traced run's handler. */
export interface RunTrace {
  /**
   * The W3C `traceparent` of the run's span (the handler's `ctx.traceparent`), if it has one;
   * `-` for a fresh unsampled one made when the handler reads it (run-handler.ts).
   */
  traceparent(run: TracedRun): string | undefined;
  /** Calls `fn` with the run's span as the active OpenTelemetry context (handlers in process). */
  within<T>(run: TracedRun, fn: () => T): T;
}

export interface Executor {
  /** Loads the tasks module; resolves with the registered names. */
  start(): Promise<string[]>;
  /** The tasks module's `schedules` export, once `start` resolved (undefined without one). */
  readonly declaredSchedules: DeclaredSchedules | undefined;
  /** Tasks that can start right now. */
  readonly freeSlots: number;
  /** Runs a task; `timeoutSeconds` null means no timeout. Never rejects. */
  run(task: ThreadTask, timeoutSeconds: number | null): Promise<Outcome>;
  /** Stops the run with lease token `token` (cancelled, lease lost, shutdown); it resolves as aborted. */
  abort(token: string, reason: string, graceMs?: number): void;
  /** Stops everything at once; running tasks resolve as aborted. */
  close(): Promise<void>;
}

/**
 * Runs one task's handler: builds its context, turns its return value into JSON and its
 * error into a stored error. Shared by every executor (threads, in-process, inline).
 * Timeouts are the caller's: it aborts `signal` and decides what a late outcome means.
 * @module
 */
import type { TaskContext, TaskRegistry } from '../define-tasks.ts';
import { toStrictJson } from '../json-value.ts';
import { serializeError, unknownTaskError, type SerializedError } from '../task-error.ts';
import type { JsonValue } from '../task.ts';
import { FRESH_UNSAMPLED, freshUnsampledTraceparent } from '../tracing/trace-context.ts';

/** What a handler needs to know about its task. */
export interface RunnableTask {
  id: string;
  name: string;
  /** JSON text of the args array, as stored. */
  argsJson: string;
  /** JSON text of the kwargs object, as stored. */
  kwargsJson: string;
  attempt: number;
  /**
   * The W3C `traceparent` of the run's span, when the executor traces it; `-`
   * ({@link FRESH_UNSAMPLED}) for a run of an unsampled creator: the handler gets a fresh
   * unsampled one, made when it reads it.
   */
  traceparent?: string;
}

/** How a run ended; `json` is the result as JSON text; `duration` in seconds. */
export type HandlerOutcome =
  { ok: true; json: string; duration: number } | { ok: false; error: SerializedError; duration: number };

/** Runs `task` with its registered handler. Never throws. */
export async function runHandler(
  tasks: TaskRegistry,
  task: RunnableTask,
  options: {
    signal: AbortSignal;
    onProgress?: (json: string) => void;
    /** The run span's `traceparent`, when the caller traces (else the task's own, if any). */
    traceparent?: string | undefined;
  },
): Promise<HandlerOutcome> {
  const started = performance.now();
  const duration = () => (performance.now() - started) / 1000;
  const handler = Object.hasOwn(tasks, task.name) ? tasks[task.name] : undefined;
  if (!handler) return { ok: false, error: unknownTaskError(task.name), duration: 0 };
  const ctx: TaskContext<Record<string, unknown>> = {
    kwargs: JSON.parse(task.kwargsJson) as Record<string, unknown>,
    signal: options.signal,
    taskId: task.id,
    name: task.name,
    attempt: task.attempt,
    traceparent: options.traceparent ?? task.traceparent,
    async progress(value: JsonValue) {
      options.onProgress?.(toStrictJson(value, 'progress'));
    },
  };
  if (ctx.traceparent === FRESH_UNSAMPLED) freshTraceparentOnRead(ctx);
  let value: unknown;
  try {
    value = await handler(...(JSON.parse(task.argsJson) as unknown[]), ctx);
  } catch (error) {
    return { ok: false, error: serializeError(error), duration: duration() };
  }
  try {
    return {
      ok: true,
      json: value === undefined ? 'null' : toStrictJson(value, 'result'),
      duration: duration(),
    };
  } catch (error) {
    // Retrying would return the same value: fail at once, naming it.
    return { ok: false, error: serializeError(error, true), duration: duration() };
  }
}

/** Makes `ctx.traceparent` a fresh unsampled `traceparent`, made at its first read. */
function freshTraceparentOnRead(ctx: { traceparent?: string }): void {
  let made: string | undefined;
  Object.defineProperty(ctx, 'traceparent', {
    enumerable: true,
    get: () => (made ??= freshUnsampledTraceparent()),
  });
}

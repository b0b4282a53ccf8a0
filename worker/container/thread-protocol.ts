/**
 * Messages between the worker's main thread and its execution threads. Tasks and results
 * travel in batches (one message per thread per dispatch, one per flush of results): a
 * message costs tens of microseconds on the main thread, which at thousands of tasks per
 * second was the worker's bottleneck. A batch travels as one JSON string: copying a string
 * costs a fraction of structured-cloning the same objects (measured: 100,000 tasks in 64-task
 * batches took 170–230 ms of CPU cloned, 85–90 ms as JSON text, encoding and decoding included).
 * Task results are JSON text too, spliced into the completion statement unchanged.
 * @module
 */
import type { HandlerOutcome } from '../../src/core/execution/run-handler.ts';
import type { SerializedError } from '../../src/core/task-error.ts';
import type { DeclaredSchedules } from './load-tasks.ts';

export type { SerializedError };

/**
 * A task as sent to a thread: args and kwargs stay JSON text until the thread parses them.
 * `token` (the claim's lease token) names the run: one worker may hold two runs of one task id
 * (a claim lost in a Postgres crash, then claimed again), so aborts, progress and results go
 * by token, never by id.
 */
export interface ThreadTask {
  id: string;
  name: string;
  argsJson: string;
  kwargsJson: string;
  attempt: number;
  token: string;
  /** The W3C `traceparent` of the run's span, when the worker traces (the handler's `ctx.traceparent`). */
  traceparent?: string;
}

/**
 * Only the fields a thread needs (callers may pass a richer task object), and the `traceparent`
 * of the run's span when it is traced.
 */
export function threadTask(task: ThreadTask, traceparent: string | undefined): ThreadTask {
  const { id, name, argsJson, kwargsJson, attempt, token } = task;
  return { id, name, argsJson, kwargsJson, attempt, token, traceparent };
}

/**
 * `run`: `tasks` is the JSON of a {@link ThreadTask} array (see {@link encodeBatch}), run one at
 * a time in the order sent. `release`: hand back the listed runs (tokens) that have not started
 * (the thread answers `released`).
 */
export type ToThread =
  | { type: 'run'; tasks: string }
  | { type: 'abort'; token: string; reason: string }
  | { type: 'release'; tokens: string[] };

/** One finished run (by token); `skipped` when it was aborted before it started. */
export type ThreadResult = ({ token: string } & HandlerOutcome) | { token: string; skipped: true };

export type FromThread =
  | {
      type: 'ready';
      names: string[];
      stripped: Record<string, string>;
      /** The module's `schedules` export (plain data), if any. */
      schedules?: DeclaredSchedules;
    }
  | { type: 'load-error'; error: SerializedError }
  | { type: 'progress'; token: string; json: string }
  /** `results`: the JSON of a {@link ThreadResult} array. */
  | { type: 'done'; results: string }
  | { type: 'released'; tokens: string[] };

/** Data the thread is started with. */
export interface ThreadData {
  /** file: URL of the tasks module. */
  tasksUrl: string;
}

/** A batch (of tasks or results) as the one string a message carries. */
export function encodeBatch(items: readonly ThreadTask[] | readonly ThreadResult[]): string {
  return JSON.stringify(items);
}

/** The tasks of a `run` message. */
export function decodeTasks(text: string): ThreadTask[] {
  return JSON.parse(text) as ThreadTask[];
}

/** The results of a `done` message. */
export function decodeResults(text: string): ThreadResult[] {
  return JSON.parse(text) as ThreadResult[];
}

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

export type { SerializedError };

/** A task as sent to a thread: args and kwargs stay JSON text until the thread parses them. */
export interface ThreadTask {
  id: string;
  name: string;
  argsJson: string;
  kwargsJson: string;
  attempt: number;
}

/**
 * `run`: `tasks` is the JSON of a {@link ThreadTask} array (see {@link encodeBatch}), run one at
 * a time in the order sent. `release`: hand back the listed tasks that have not started (the
 * thread answers `released`).
 */
export type ToThread =
  | { type: 'run'; tasks: string }
  | { type: 'abort'; id: string; reason: string }
  | { type: 'release'; ids: string[] };

/** One finished task; `skipped` when it was aborted before it started. */
export type ThreadResult = ({ id: string } & HandlerOutcome) | { id: string; skipped: true };

export type FromThread =
  | { type: 'ready'; names: string[]; stripped: Record<string, string> }
  | { type: 'load-error'; error: SerializedError }
  | { type: 'progress'; id: string; json: string }
  /** `results`: the JSON of a {@link ThreadResult} array. */
  | { type: 'done'; results: string }
  | { type: 'released'; ids: string[] };

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

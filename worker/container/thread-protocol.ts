/**
 * Messages between the worker's main thread and its execution threads. Tasks and results
 * travel in batches (one message per thread per dispatch, one per flush of results): a
 * message costs tens of microseconds on the main thread, which at thousands of tasks per
 * second was the worker's bottleneck. Results are JSON text, spliced into the completion
 * statement unchanged.
 * @module
 */
import type { HandlerOutcome } from '../../src/run-handler.ts';
import type { SerializedError } from '../../src/task-error.ts';

export type { SerializedError };

/** A claimed task as the thread needs it. */
/** A task as sent to a thread: args and kwargs stay JSON text until the thread parses them. */
export interface ThreadTask {
  id: string;
  name: string;
  argsJson: string;
  kwargsJson: string;
  attempt: number;
}

/** Tasks are run one at a time, in the order sent. */
/** `release`: hand back the listed tasks that have not started (the thread answers `released`). */
export type ToThread =
  | { type: 'run'; tasks: ThreadTask[] }
  | { type: 'abort'; id: string; reason: string }
  | { type: 'release'; ids: string[] };

/** One finished task; `skipped` when it was aborted before it started. */
export type ThreadResult = ({ id: string } & HandlerOutcome) | { id: string; skipped: true };

export type FromThread =
  | { type: 'ready'; names: string[]; stripped: Record<string, string> }
  | { type: 'load-error'; error: SerializedError }
  | { type: 'progress'; id: string; json: string }
  | { type: 'done'; results: ThreadResult[] }
  | { type: 'released'; ids: string[] };

/** Data the thread is started with. */
export interface ThreadData {
  /** file: URL of the tasks module. */
  tasksUrl: string;
}

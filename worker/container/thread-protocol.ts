/**
 * Messages between the worker's main thread and its execution threads. Results travel as
 * JSON text so the main thread can splice them into the completion statement unchanged.
 * @module
 */
import type { SerializedError } from '../../src/task-error.ts';

export type { SerializedError };

/** A claimed task as the thread needs it. */
export interface ThreadTask {
  id: string;
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  attempt: number;
}

export type ToThread = { type: 'run'; task: ThreadTask } | { type: 'abort'; id: string; reason: string };

export type FromThread =
  | { type: 'ready'; names: string[] }
  | { type: 'load-error'; error: SerializedError }
  | { type: 'progress'; id: string; json: string }
  | { type: 'done'; id: string; ok: true; json: string; duration: number }
  | { type: 'done'; id: string; ok: false; error: SerializedError; duration: number };

/** Data the thread is started with. */
export interface ThreadData {
  /** file: URL of the tasks module. */
  tasksUrl: string;
}

/**
 * Task registries: the only way a name maps to code. The worker looks names up here and
 * never imports anything named by a task row.
 * @module
 */
import { TaskValidationError } from './errors.ts';
import type { JsonValue } from './task.ts';
import { validateTaskName } from './validate-task.ts';

/**
 * What a handler receives after its positional arguments.
 *
 * ```ts
 * defineTasks({
 *   'app.tasks.resize': async (url: string, ctx: TaskContext<{ width: number }>) => {
 *     await ctx.progress({ step: 'download' });
 *     return resize(await fetch(url, { signal: ctx.signal }), ctx.kwargs.width);
 *   },
 * });
 * ```
 */
export interface TaskContext<K extends Record<string, unknown> = Record<string, JsonValue>> {
  /** The task's keyword arguments. */
  readonly kwargs: K;
  /** Aborted when the task times out, is cancelled or the worker shuts down. */
  readonly signal: AbortSignal;
  readonly taskId: string;
  readonly name: string;
  /** 1 on the first run, 2 on the first retry, ... (the fencing token). */
  readonly attempt: number;
  /**
   * The W3C `traceparent` of this run's span when the worker traces (OpenTelemetry), else
   * undefined: start your own spans as its children, e.g. in a thread with
   * `propagation.extract(ROOT_CONTEXT, { traceparent: ctx.traceparent })` as their context.
   * When the task's creator was not sampled it is an unsampled one (flags `00`), so your spans
   * stay out of the sample too.
   */
  readonly traceparent?: string;
  /** Stores a JSON progress value on the task (visible as `task.progress`). */
  progress(value: JsonValue): Promise<void>;
}

/**
 * A task handler: called as `handler(...args, ctx)`. Declare the context parameter (when you
 * need it) as the last, required parameter so typed clients can tell it from the arguments.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers are checked per task by TaskArgs
export type TaskHandler = (...params: any[]) => unknown;

/** Registered handlers by task name. */
export type TaskRegistry = Record<string, TaskHandler>;

type IsContext<T> = 0 extends 1 & T ? false : [T] extends [TaskContext<infer _K>] ? true : false;

/** The positional arguments of a handler (its parameters without a trailing context). */
export type TaskArgs<F> = F extends (...params: infer P) => unknown
  ? P extends [...infer A, infer L]
    ? IsContext<L> extends true
      ? A
      : P
    : P
  : never;

/**
 * The keyword arguments a handler expects (from its `TaskContext<K>` parameter); any object
 * when the handler does not say (values are still checked to be JSON at run time).
 */
export type TaskKwargs<F> = F extends (...params: infer P) => unknown
  ? P extends [...infer _A, infer L]
    ? IsContext<L> extends true
      ? L extends TaskContext<infer K>
        ? K
        : Record<string, unknown>
      : Record<string, unknown>
    : Record<string, unknown>
  : never;

/** What a handler's task stores as `result`. */
export type TaskResult<F> = F extends (...params: never[]) => infer R ? Awaited<R> : never;

/**
 * Declares the tasks a worker can run. Returns the registry unchanged, typed, so that
 * `createClient<typeof tasks>(...)` checks names and arguments at compile time.
 * @throws TaskValidationError when a name is invalid or a handler is not a function.
 */
export function defineTasks<const R extends TaskRegistry>(tasks: R): R {
  if (typeof tasks !== 'object' || tasks === null) {
    throw new TaskValidationError('INVALID_OPTIONS', 'tasks', 'defineTasks expects an object of handlers.');
  }
  for (const [name, handler] of Object.entries(tasks)) {
    validateTaskName(name);
    if (typeof handler !== 'function') {
      throw new TaskValidationError(
        'INVALID_OPTIONS',
        name,
        `Handler for task "${name}" is ${typeof handler}, expected a function.`,
      );
    }
  }
  return Object.freeze({ ...tasks });
}

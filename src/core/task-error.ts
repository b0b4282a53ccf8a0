/**
 * How a handler's error is recorded: message, type and stack, and whether it may be retried.
 * Shared by every executor so the stored fields mean the same everywhere.
 * @module
 */

export interface SerializedError {
  message: string;
  type: string;
  stack: string | null;
  /** A NonRetryableError, an unknown task name or a result that is not JSON: fail at once. */
  nonRetryable: boolean;
}

/** Records any thrown value. Recognises NonRetryableError by its code across module copies. */
export function serializeError(error: unknown, nonRetryable = false): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      message: error.message || String(error),
      type: error.name || error.constructor?.name || 'Error',
      stack: error.stack ?? null,
      nonRetryable: nonRetryable || code === 'NON_RETRYABLE' || error.name === 'NonRetryableError',
    };
  }
  return { message: `Non-error thrown: ${String(error)}`, type: typeof error, stack: null, nonRetryable };
}

/** The error type stored for a task whose name is not registered. */
export const UNKNOWN_TASK_ERROR = 'UnknownTaskError';

/**
 * The error of a task whose name is not registered. It names the task but not the registered
 * names: the stored error is readable by API callers, so the list goes to the worker's log.
 */
export function unknownTaskError(name: string): SerializedError {
  return {
    message: `Unknown task "${name}": no handler with this name is registered in the worker's tasks module.`,
    type: UNKNOWN_TASK_ERROR,
    stack: null,
    nonRetryable: true,
  };
}

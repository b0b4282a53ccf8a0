/**
 * How a handler's error is recorded: message, type and stack, and whether it may be retried.
 * Shared by every executor so the stored fields mean the same everywhere.
 *
 * Error text is recorded, never refused: a character Postgres cannot store in text or jsonb
 * (a NUL, a lone surrogate) becomes U+FFFD, and each field is cut to a bound, so no handler's
 * error can make its write-back fail (and with it the batch it travels in) or bloat the row.
 * @module
 */
import { storableText } from './json-value.ts';

export interface SerializedError {
  message: string;
  type: string;
  stack: string | null;
  /** A NonRetryableError, an unknown task name or a result that is not JSON: fail at once. */
  nonRetryable: boolean;
}

/** Longest stored error message, in UTF-16 code units (64 Ki); longer ones are cut. */
export const MAX_ERROR_MESSAGE = 65_536;
/** Longest stored error type (the error's name), in UTF-16 code units. */
export const MAX_ERROR_TYPE = 256;
/** Longest stored stack, in UTF-16 code units (64 Ki). */
export const MAX_ERROR_STACK = 65_536;

/**
 * `text` as it can be stored: NUL characters and lone surrogates replaced by U+FFFD, and, when
 * longer than `max` code units, cut (never inside a surrogate pair) and ended with
 * `… [N more characters]`, all within `max`.
 */
export function storableErrorText(text: string, max: number): string {
  let bounded = text;
  if (text.length > max) {
    // The marker's length for the largest possible count, so the result always fits.
    let keep = Math.max(0, max - `… [${text.length} more characters]`.length);
    const last = text.charCodeAt(keep - 1);
    if (last >= 0xd800 && last <= 0xdbff) keep--;
    bounded = `${text.slice(0, keep)}… [${text.length - keep} more characters]`;
  }
  return storableText(bounded);
}

/** Records any thrown value. Recognises NonRetryableError by its code across module copies. */
export function serializeError(error: unknown, nonRetryable = false): SerializedError {
  if (error instanceof Error) {
    const name = read(error, 'name');
    const message = read(error, 'message');
    const stack = read(error, 'stack');
    return {
      message: storableErrorText(field(message) || describe(error), MAX_ERROR_MESSAGE),
      type: storableErrorText(
        field(name) || field(read(read(error, 'constructor'), 'name')) || 'Error',
        MAX_ERROR_TYPE,
      ),
      stack: typeof stack === 'string' ? storableErrorText(stack, MAX_ERROR_STACK) : null,
      nonRetryable: nonRetryable || read(error, 'code') === 'NON_RETRYABLE' || name === 'NonRetryableError',
    };
  }
  return {
    message: storableErrorText(`Non-error thrown: ${describe(error)}`, MAX_ERROR_MESSAGE),
    type: typeof error,
    stack: null,
    nonRetryable,
  };
}

/** A property of a thrown value, or undefined when reading it throws (a hostile getter). */
function read(value: unknown, key: string): unknown {
  try {
    return (value as Record<string, unknown> | null | undefined)?.[key];
  } catch {
    return undefined;
  }
}

/** A field of an error as text: '' when unset. */
function field(value: unknown): string {
  return value === undefined || value === null ? '' : describe(value);
}

/** `String(value)`, or the `[object …]` tag when that throws (an object without toString). */
function describe(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
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

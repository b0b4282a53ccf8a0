/**
 * Validation of task options, done before anything is sent, so bad input gets a typed error
 * and no row is written.
 * @module
 */
import { TaskValidationError } from './errors.ts';
import { isPlainObject, toStrictJson, UNSTORABLE_STRING } from './json-value.ts';
import { checkUniqueMode, type UniqueMode } from './validate-unique-mode.ts';

export type { UniqueMode } from './validate-unique-mode.ts';

/** Documented limits. */
export const TASK_LIMITS = {
  /** Longest task name, in characters. */
  nameLength: 200,
  /** Longest queue name, in characters. */
  queueLength: 100,
  /** Longest unique key, in characters. */
  uniqueKeyLength: 200,
  /** Longest concurrency key, in characters. */
  concurrencyKeyLength: 200,
  /** Largest per-key concurrency limit. */
  maxConcurrencyKeyLimit: 1_000_000,
  /** Timeout used when none is given, in seconds. */
  defaultTimeout: 300,
  /** Longest timeout, in seconds (7 days). */
  maxTimeout: 604_800,
  /** Largest `args` + `kwargs`, in UTF-8 bytes of JSON (1 MiB); configurable per client. */
  maxPayloadBytes: 1_048_576,
  /** Most retries a task may ask for. */
  maxRetries: 1000,
  /** Longest delay, in seconds (1 year). */
  maxDelay: 31_536_000,
} as const;

const INT32_MAX = 2_147_483_647;
const EARLIEST_RUN_AT = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST_RUN_AT = Date.parse('9999-12-31T23:59:59.999Z');
const NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:\-/]*$/;

/** Options accepted by `createTask` (all optional). */
export interface TaskOptions {
  /** Positional arguments (default: `[]`). */
  args?: readonly unknown[];
  /** Keyword arguments (default: `{}`). */
  kwargs?: Record<string, unknown>;
  /** Seconds before the run is stopped, or `null` for none (default: 300). */
  timeout?: number | null;
  /** Named queue (default: `default`). */
  queue?: string;
  /** Higher runs first (default: 0). */
  priority?: number;
  /** Not before this time. Excludes `delay`. */
  runAt?: Date | string;
  /** Not before this many seconds from now (database clock). Excludes `runAt`. */
  delay?: number;
  /** Retries after a failure; unset means the worker's `--retry` (default: worker's). */
  maxRetries?: number;
  /**
   * Deduplication key: while the key has a holder (see `uniqueMode`), `createTask` returns it
   * instead of creating a task.
   */
  uniqueKey?: string;
  /**
   * What holds a `uniqueKey` (default `'unfinished'`; needs `uniqueKey`): `'unfinished'` a
   * `PENDING` or `PROGRESS` task; `'pending'` a `PENDING` task only (once it starts, a call
   * creates a new one); `'throttle'` any task created in the last `uniquePeriod` seconds,
   * whatever its state; `'debounce'` a `PENDING` task, which gets the call's `args` and `kwargs`
   * and runs `uniquePeriod` seconds from now (a new task does too). A key is deduplicated
   * against tasks of the same mode only.
   */
  uniqueMode?: UniqueMode;
  /** Seconds, for `uniqueMode` `'throttle'` and `'debounce'` (required there, refused elsewhere). */
  uniquePeriod?: number;
  /**
   * Flow control: at most `concurrencyKeyLimit` tasks with this key run at once in the task's
   * queue, across all workers (e.g. one per user: `user:42`).
   */
  concurrencyKey?: string;
  /** How many tasks with `concurrencyKey` may run at once (default: 1; needs `concurrencyKey`). */
  concurrencyKeyLimit?: number;
}

const KNOWN_OPTIONS = new Set([
  'args',
  'kwargs',
  'timeout',
  'queue',
  'priority',
  'runAt',
  'delay',
  'maxRetries',
  'uniqueKey',
  'uniqueMode',
  'uniquePeriod',
  'concurrencyKey',
  'concurrencyKeyLimit',
]);

/** A task ready to insert: JSON already serialised, every value checked. */
export interface ValidatedTask {
  name: string;
  argsJson: string;
  kwargsJson: string;
  timeout: number | null;
  queue: string;
  priority: number;
  /** ISO timestamp, or null to use `delay` from the database clock. */
  runAt: string | null;
  delay: number;
  maxRetries: number | null;
  uniqueKey: string | null;
  /** Null exactly when `uniqueKey` is. */
  uniqueMode: UniqueMode | null;
  /** Seconds; set exactly for `throttle` and `debounce` (whose `delay` it also is). */
  uniquePeriod: number | null;
  concurrencyKey: string | null;
  /** Null exactly when `concurrencyKey` is. */
  concurrencyKeyLimit: number | null;
}

function invalid(
  code: ConstructorParameters<typeof TaskValidationError>[0],
  field: string,
  message: string,
): never {
  throw new TaskValidationError(code, field, message);
}

function checkLabel(
  value: unknown,
  field: string,
  code: 'INVALID_NAME' | 'INVALID_QUEUE' | 'INVALID_UNIQUE_KEY' | 'INVALID_CONCURRENCY_KEY',
  max: number,
): string {
  if (typeof value !== 'string') invalid(code, field, `${field} must be a string, got ${typeof value}.`);
  if (value.length === 0) invalid(code, field, `${field} must not be empty.`);
  if (value.length > max)
    invalid(code, field, `${field} is ${value.length} characters long; the limit is ${max}.`);
  if (UNSTORABLE_STRING.test(value))
    invalid(code, field, `${field} has a NUL character or a lone surrogate.`);
  return value;
}

/** Checks a queue name as `createTask` does: 1–100 characters, no NUL or lone surrogate. */
export function validateQueueName(queue: unknown): string {
  return checkLabel(queue, 'queue', 'INVALID_QUEUE', TASK_LIMITS.queueLength);
}

/** Checks a task name: 1–200 characters of letters, digits and `_ . : - /`. */
export function validateTaskName(name: unknown): string {
  checkLabel(name, 'name', 'INVALID_NAME', TASK_LIMITS.nameLength);
  if (!NAME_PATTERN.test(name as string)) {
    invalid(
      'INVALID_NAME',
      'name',
      `Task name ${JSON.stringify(name)} may only contain letters, digits and _ . : - / (and not start with a symbol).`,
    );
  }
  return name as string;
}

/** A short, safe description of any value for an error message (String() throws on some). */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return value.length > 50 ? `${value.slice(0, 50)}…` : value;
  if (value === null || typeof value !== 'object') return String(value);
  if (value instanceof Date) return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

function checkInteger(
  value: unknown,
  field: string,
  code: Parameters<typeof invalid>[0],
  min: number,
  max: number,
) {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(code, field, `${field} must be an integer from ${min} to ${max}, got ${describeValue(value)}.`);
  }
  return value;
}

function checkRunAt(value: unknown): string {
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    invalid(
      'INVALID_RUN_AT',
      'runAt',
      `runAt must be a valid Date or ISO 8601 string, got ${describeValue(value)}.`,
    );
  }
  // Postgres timestamps hold years 1-9999; JS dates reach far beyond.
  if (date.getTime() < EARLIEST_RUN_AT || date.getTime() > LATEST_RUN_AT) {
    invalid(
      'INVALID_RUN_AT',
      'runAt',
      `runAt must be between years 1 and 9999, got ${String(value).slice(0, 50)}.`,
    );
  }
  return date.toISOString();
}

/**
 * Validates `createTask` input. Throws {@link TaskValidationError} naming the field.
 * @param maxPayloadBytes limit for `args` + `kwargs` JSON (default: 1 MiB)
 */
export function validateTask(
  name: unknown,
  options: TaskOptions | undefined,
  maxPayloadBytes: number = TASK_LIMITS.maxPayloadBytes,
): ValidatedTask {
  validateTaskName(name);
  const opts = checkOptions(options);
  const { argsJson, kwargsJson } = checkPayload(opts, maxPayloadBytes);
  const timeout =
    opts.timeout === null
      ? null
      : opts.timeout === undefined
        ? TASK_LIMITS.defaultTimeout
        : checkInteger(opts.timeout, 'timeout', 'INVALID_TIMEOUT', 1, TASK_LIMITS.maxTimeout);
  const queue =
    opts.queue === undefined
      ? 'default'
      : checkLabel(opts.queue, 'queue', 'INVALID_QUEUE', TASK_LIMITS.queueLength);
  const priority =
    opts.priority === undefined
      ? 0
      : checkInteger(opts.priority, 'priority', 'INVALID_PRIORITY', -INT32_MAX, INT32_MAX);
  const schedule = checkSchedule(opts);
  const maxRetries =
    opts.maxRetries === undefined
      ? null
      : checkInteger(opts.maxRetries, 'maxRetries', 'INVALID_MAX_RETRIES', 0, TASK_LIMITS.maxRetries);
  const uniqueKey =
    opts.uniqueKey === undefined
      ? null
      : checkLabel(opts.uniqueKey, 'uniqueKey', 'INVALID_UNIQUE_KEY', TASK_LIMITS.uniqueKeyLength);
  const { uniqueMode, uniquePeriod } = checkUniqueMode(opts, uniqueKey, describeValue);
  const { concurrencyKey, concurrencyKeyLimit } = checkConcurrencyKey(opts);
  // A debounced task is due uniquePeriod seconds from now (checkUniqueMode refused runAt, delay).
  const { runAt, delay } =
    uniqueMode === 'debounce' ? { runAt: null, delay: uniquePeriod as number } : schedule;
  return {
    name: name as string,
    argsJson,
    kwargsJson,
    timeout,
    queue,
    priority,
    runAt,
    delay,
    maxRetries,
    uniqueKey,
    uniqueMode,
    uniquePeriod,
    concurrencyKey,
    concurrencyKeyLimit,
  };
}

/** `concurrencyKey` (a label like `queue`) and its limit (default 1; only with a key). */
function checkConcurrencyKey(opts: Record<string, unknown>): {
  concurrencyKey: string | null;
  concurrencyKeyLimit: number | null;
} {
  if (opts.concurrencyKey === undefined) {
    if (opts.concurrencyKeyLimit !== undefined) {
      invalid(
        'INVALID_CONCURRENCY_KEY',
        'concurrencyKeyLimit',
        'concurrencyKeyLimit needs a concurrencyKey.',
      );
    }
    return { concurrencyKey: null, concurrencyKeyLimit: null };
  }
  const key = checkLabel(
    opts.concurrencyKey,
    'concurrencyKey',
    'INVALID_CONCURRENCY_KEY',
    TASK_LIMITS.concurrencyKeyLength,
  );
  const limit =
    opts.concurrencyKeyLimit === undefined
      ? 1
      : checkInteger(
          opts.concurrencyKeyLimit,
          'concurrencyKeyLimit',
          'INVALID_CONCURRENCY_KEY',
          1,
          TASK_LIMITS.maxConcurrencyKeyLimit,
        );
  return { concurrencyKey: key, concurrencyKeyLimit: limit as number };
}

/** The options as a plain object (`{}` when absent) with known keys only. */
function checkOptions(options: TaskOptions | undefined): Record<string, unknown> {
  const opts = (options ?? {}) as Record<string, unknown>;
  if (!isPlainObject(opts)) invalid('INVALID_OPTIONS', 'options', 'Task options must be a plain object.');
  for (const key of Object.keys(opts)) {
    if (!KNOWN_OPTIONS.has(key)) {
      invalid(
        'INVALID_OPTIONS',
        key,
        `Unknown task option "${key}"; known: ${[...KNOWN_OPTIONS].join(', ')}.`,
      );
    }
  }
  return opts;
}

/** `args` and `kwargs` as strict JSON, together at most `maxPayloadBytes` of UTF-8. */
function checkPayload(
  opts: Record<string, unknown>,
  maxPayloadBytes: number,
): { argsJson: string; kwargsJson: string } {
  const args = opts.args ?? [];
  if (!Array.isArray(args)) invalid('INVALID_ARGS', 'args', `args must be an array, got ${describe(args)}.`);
  const kwargs = opts.kwargs ?? {};
  if (!isPlainObject(kwargs))
    invalid('INVALID_KWARGS', 'kwargs', `kwargs must be a plain object, got ${describe(kwargs)}.`);
  const argsJson = toStrictJson(args, 'args');
  const kwargsJson = toStrictJson(kwargs, 'kwargs');
  // A UTF-16 code unit takes at most 3 bytes in UTF-8: count exactly only near the limit.
  const bytes =
    (argsJson.length + kwargsJson.length) * 3 <= maxPayloadBytes
      ? 0
      : utf8Length(argsJson) + utf8Length(kwargsJson);
  if (bytes > maxPayloadBytes) {
    invalid(
      'PAYLOAD_TOO_LARGE',
      'args',
      `args and kwargs take ${bytes} bytes as JSON; the limit is ${maxPayloadBytes}. Store large data elsewhere and pass a reference.`,
    );
  }
  return { argsJson, kwargsJson };
}

/** When the task may run: `runAt` (ISO) or `delay` (seconds), not both. */
function checkSchedule(opts: Record<string, unknown>): { runAt: string | null; delay: number } {
  if (opts.runAt !== undefined && opts.delay !== undefined) {
    invalid('INVALID_OPTIONS', 'delay', 'Give runAt or delay, not both.');
  }
  const runAt = opts.runAt === undefined ? null : checkRunAt(opts.runAt);
  let delay = 0;
  if (opts.delay !== undefined) {
    if (
      typeof opts.delay !== 'number' ||
      !Number.isFinite(opts.delay) ||
      opts.delay < 0 ||
      opts.delay > TASK_LIMITS.maxDelay
    ) {
      invalid(
        'INVALID_DELAY',
        'delay',
        `delay must be a number of seconds from 0 to ${TASK_LIMITS.maxDelay}, got ${describeValue(opts.delay)}.`,
      );
    }
    delay = opts.delay;
  }
  return { runAt, delay };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `a ${(value as object).constructor?.name ?? 'null-prototype'} object`;
  return typeof value;
}

const encoder = new TextEncoder();
function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

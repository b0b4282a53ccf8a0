/**
 * The filters of the dead-letter calls (`redriveFailed`, `failureReasons`), checked before
 * anything is sent: a bad one gets a {@link TaskValidationError} naming it, never a database
 * error or a silently empty answer.
 * @module
 */
import { TaskValidationError, type ValidationCode } from '../errors.ts';
import { UNSTORABLE_STRING } from '../json-value.ts';
import { MAX_ERROR_TYPE } from '../task-error.ts';
import { validateQueueName, validateTaskName } from '../validate-task.ts';

/** Which `FAILED` tasks a dead-letter call looks at; every filter is optional. */
export interface FailedTaskFilters {
  /** Only tasks of this name. */
  name?: string | null;
  /** Only tasks of this queue. */
  queue?: string | null;
  /** Only tasks whose last error has this type (the error's name, e.g. `TypeError`). */
  errorType?: string | null;
  /** Only tasks that failed at or after this time (`finishedAt`). */
  from?: Date | string | null;
  /** Only tasks that failed before this time (`finishedAt`). */
  to?: Date | string | null;
}

/** Checked filters, in statement order; `null` means "any". Times are ISO strings. */
export interface CheckedFilters {
  name: string | null;
  queue: string | null;
  errorType: string | null;
  from: string | null;
  to: string | null;
}

const FILTER_KEYS = ['name', 'queue', 'errorType', 'from', 'to'] as const;
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

function invalid(code: ValidationCode, field: string, message: string): never {
  throw new TaskValidationError(code, field, message);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 50 ? `${value.slice(0, 50)}…` : value);
  return value === null || typeof value !== 'object' ? String(value) : Object.prototype.toString.call(value);
}

function checkErrorType(value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.length > MAX_ERROR_TYPE) {
    invalid(
      'INVALID_ERROR_TYPE',
      'errorType',
      `errorType must be 1 to ${MAX_ERROR_TYPE} characters, e.g. "TypeError", got ${describe(value)}.`,
    );
  }
  if (UNSTORABLE_STRING.test(value)) {
    invalid('INVALID_ERROR_TYPE', 'errorType', 'errorType has a NUL character or a lone surrogate.');
  }
  return value;
}

function checkTime(value: unknown, field: 'from' | 'to'): string {
  const time =
    value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!(time >= EARLIEST && time <= LATEST)) {
    invalid(
      'INVALID_TIME_RANGE',
      field,
      `${field} must be a valid Date or ISO 8601 string between years 1 and 9999, got ${describe(value)}.`,
    );
  }
  return new Date(time).toISOString();
}

/**
 * Checks `options` (an object or `undefined`) as dead-letter filters; `extra` lists the other
 * keys the call takes. `undefined` and `null` filters mean "any".
 * @throws TaskValidationError `INVALID_OPTIONS` (not an object, an unknown key), `INVALID_NAME`,
 * `INVALID_QUEUE`, `INVALID_ERROR_TYPE`, `INVALID_TIME_RANGE` (also when `from` is after `to`).
 */
export function checkFailedFilters(options: unknown, extra: readonly string[]): CheckedFilters {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    invalid('INVALID_OPTIONS', 'options', `The options must be an object, got ${describe(options)}.`);
  }
  const input = options as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!(FILTER_KEYS as readonly string[]).includes(key) && !extra.includes(key)) {
      const known = [...FILTER_KEYS, ...extra].join(', ');
      invalid('INVALID_OPTIONS', key, `Unknown option ${describe(key)}; the options are ${known}.`);
    }
  }
  const given = (key: string): unknown => (input[key] === null ? undefined : input[key]);
  const filters: CheckedFilters = {
    name: given('name') === undefined ? null : validateTaskName(given('name')),
    queue: given('queue') === undefined ? null : validateQueueName(given('queue')),
    errorType: given('errorType') === undefined ? null : checkErrorType(given('errorType')),
    from: given('from') === undefined ? null : checkTime(given('from'), 'from'),
    to: given('to') === undefined ? null : checkTime(given('to'), 'to'),
  };
  if (filters.from !== null && filters.to !== null && filters.from > filters.to) {
    invalid('INVALID_TIME_RANGE', 'to', `to (${filters.to}) is before from (${filters.from}).`);
  }
  return filters;
}

/**
 * Checks a count option: an integer from 1 to `max`, `fallback` when `undefined` or `null`.
 * @throws TaskValidationError `INVALID_LIMIT`
 */
export function checkLimit(value: unknown, fallback: number, max: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    invalid('INVALID_LIMIT', 'limit', `limit must be an integer from 1 to ${max}, got ${describe(value)}.`);
  }
  return value;
}

/** The statements' filter parameters $1–$5. */
export function filterParams(filters: CheckedFilters): Array<string | null> {
  return [filters.name, filters.queue, filters.errorType, filters.from, filters.to];
}

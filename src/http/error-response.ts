/**
 * The API's one error shape, `{ error: { code, message, field? } }`, and the mapping from
 * the library's typed errors to HTTP statuses. Anything not mapped here is a bug or an
 * outage: it is logged and answered as a bare 500 that reveals nothing about the server.
 * @module
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import {
  InvalidTaskIdError,
  ScheduleNotFoundError,
  TaskNotFoundError,
  TaskValidationError,
  TaskWorkerError,
} from '../core/errors.ts';
import { isDatabaseUnavailable } from './database-unavailable.ts';

/** The body of every error response. */
export interface ErrorBody {
  error: {
    /** Stable, e.g. `TASK_NOT_FOUND`, `INVALID_TIMEOUT`. Branch on this, not on the message. */
    code: string;
    /** For people: names the offending value and what to do. */
    message: string;
    /** The input at fault, when there is one: `name`, `kwargs.when`, `tasks[2].queue`, `cursor`. */
    field?: string;
  };
}

/** Called with every error the API could not map to a 4xx, and with failed health checks. */
export type ErrorLogger = (error: unknown, request: Request) => void;

/** Client errors that mean "not in a state that allows this". */
const CONFLICT_CODES: ReadonlySet<string> = new Set([
  'TASK_NOT_FINAL',
  'UNIQUE_KEY_CONFLICT',
  'SCHEDULE_EXISTS',
]);

/** An error the API answers with its own status and code. Throw it from a route. */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly field: string | undefined;
  readonly headers: Record<string, string> | undefined;
  constructor(
    status: ContentfulStatusCode,
    code: string,
    message: string,
    options: { field?: string; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = options.field;
    this.headers = options.headers;
  }
}

/** Answers with the API's error body. */
export function errorJson(c: Context, error: HttpError): Response {
  const body: ErrorBody = { error: { code: error.code, message: error.message } };
  if (error.field !== undefined) body.error.field = error.field;
  return c.json(body, error.status, error.headers);
}

/** Seconds a client is asked to wait after a 503 (`Retry-After`). */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** 503 `DATABASE_UNAVAILABLE` with `Retry-After`. */
export function databaseUnavailable(message: string): HttpError {
  return new HttpError(503, 'DATABASE_UNAVAILABLE', message, {
    headers: { 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) },
  });
}

const HONO_STATUS_CODES: Partial<Record<number, string>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
};

/**
 * The HTTP answer for a known error, or `undefined` for anything else (which becomes a 500).
 * A database that cannot be reached is 503 on every route (see database-unavailable.ts).
 * `PAYLOAD_TOO_LARGE` is 413 wherever it comes from (body limit or `args` + `kwargs` limit),
 * so one code always means one status.
 */
export function httpErrorOf(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof TaskValidationError) {
    const status = error.code === 'PAYLOAD_TOO_LARGE' ? 413 : 400;
    return new HttpError(status, error.code, error.message, { field: error.field });
  }
  if (error instanceof InvalidTaskIdError) {
    return new HttpError(400, error.code, error.message, { field: 'id' });
  }
  if (error instanceof TaskNotFoundError || error instanceof ScheduleNotFoundError) {
    return new HttpError(404, error.code, error.message);
  }
  if (error instanceof TaskWorkerError && CONFLICT_CODES.has(error.code)) {
    return new HttpError(409, error.code, error.message);
  }
  if (isDatabaseUnavailable(error))
    return databaseUnavailable('The database is unavailable; try again shortly.');
  if (error instanceof HTTPException && error.status < 500) {
    const code = HONO_STATUS_CODES[error.status] ?? 'BAD_REQUEST';
    return new HttpError(error.status, code, error.message || code);
  }
  return undefined;
}

/** Builds Hono's `onError` handler: known errors become 4xx/503, the rest a bare 500. */
export function handleError(log: ErrorLogger): (error: Error, c: Context) => Response {
  return (error, c) => {
    const known = httpErrorOf(error);
    // A 503 still deserves a log line: someone has to notice the outage.
    if (!known || known.status >= 500) safeLog(log, error, c.req.raw);
    return errorJson(c, known ?? new HttpError(500, 'INTERNAL', 'Internal error'));
  };
}

/** Calls the logger; a logger that throws must not turn an error response into a crash. */
export function safeLog(log: ErrorLogger, error: unknown, request: Request): void {
  try {
    log(error, request);
  } catch {
    // Nothing better to do: the logger is the place errors would go.
  }
}

/**
 * Telling "the database cannot be reached right now" from "this query or setup is wrong", for
 * every driver. The HTTP app answers the first with 503 instead of 500; a worker starting up
 * waits for it instead of exiting. One list, so both agree:
 *
 * - node-postgres: the socket's errno (`ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT`, `ENOTFOUND`,
 *   `EHOSTUNREACH`, ...) as `code`, or no code at all ("Connection terminated unexpectedly",
 *   "Cannot use a pool after calling end on the pool", connection timeouts); a connection to
 *   several addresses fails with an `AggregateError` of them;
 * - Postgres itself: SQLSTATE class 08 (connection exception, but not 08P01, a protocol
 *   violation, which is a bug), 53 (insufficient resources: too many connections, out of
 *   memory or disk) and 57P01–57P03, 57P05 (shutting down, starting up, idle session timeout;
 *   57P04, database dropped, will not come back by waiting);
 * - Neon HTTP: a `NeonDbError` without a code for a failed fetch (the fetch error, with its
 *   errno, as `sourceError`), and the SQLSTATEs above otherwise.
 *
 * Errors are recognised through their `cause`, `sourceError` and `errors` chains.
 * @module
 */

/** Socket and DNS errors: the server could not be reached, or the connection broke. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** What node-postgres says, without a code, when it has no connection to use. */
const CONNECTION_LOST =
  /^(Connection terminated|Cannot use a pool after calling end|Client has encountered a connection error|Client was closed|timeout exceeded when trying to connect)/;

/** The `code` of an error-like object, or `''`. */
export function errorCode(error: object): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : '';
}

/**
 * `error` and what it wraps (`cause`, `sourceError`, the `errors` of an AggregateError),
 * breadth first. A short walk: chains can be long or circular; the useful error is near the top.
 */
export function* databaseErrorChain(error: unknown, limit = 10): Generator<object> {
  const queue: unknown[] = [error];
  for (let i = 0; i < queue.length && i < limit; i++) {
    const current = queue[i];
    if (typeof current !== 'object' || current === null) continue;
    yield current;
    const next = current as { cause?: unknown; sourceError?: unknown; errors?: unknown };
    queue.push(next.cause, next.sourceError, ...(Array.isArray(next.errors) ? next.errors : []));
  }
}

/** True for a SQLSTATE or errno that means the database cannot be reached right now. */
export function isUnreachableCode(code: string): boolean {
  return (
    NETWORK_CODES.has(code) ||
    (/^08[0-9A-Z]{3}$/.test(code) && code !== '08P01') ||
    /^53[0-9A-Z]{3}$/.test(code) ||
    /^57P0[1235]$/.test(code)
  );
}

/** True when this one error (not what it wraps) says the database cannot be reached. */
export function isUnreachableError(error: object): boolean {
  const code = errorCode(error);
  if (isUnreachableCode(code)) return true;
  if (code !== '' || !(error instanceof Error)) return false;
  return (
    CONNECTION_LOST.test(error.message) ||
    (error.name === 'NeonDbError' && Boolean((error as { sourceError?: unknown }).sourceError)) ||
    (error instanceof TypeError && error.message === 'fetch failed')
  );
}

/**
 * True when `error`, or what it wraps, says the database cannot be reached right now: a
 * connection refused, reset or timed out, a server shutting down or starting up, a fetch that
 * failed.
 */
export function isDatabaseUnreachable(error: unknown): boolean {
  for (const current of databaseErrorChain(error)) if (isUnreachableError(current)) return true;
  return false;
}

/**
 * Telling "the database is not there right now" (answered 503, worth a retry) from "this query
 * is wrong" (a bug, answered 500), for every driver:
 *
 * - node-postgres: the socket's errno (`ECONNREFUSED`, `ECONNRESET`, `ETIMEDOUT`, `ENOTFOUND`,
 *   `EHOSTUNREACH`, ...) as `code`, or no code at all ("Connection terminated unexpectedly",
 *   "Cannot use a pool after calling end on the pool", connection timeouts);
 * - Postgres itself: SQLSTATE class 08 (connection exception, but not 08P01, a protocol
 *   violation, which is a bug), 53 (insufficient resources: too many connections, out of
 *   memory or disk) and 57P0x (admin shutdown, crash shutdown, cannot connect now, database
 *   dropped);
 * - Neon HTTP: a `NeonDbError` without a code for a failed fetch (the fetch error, with its
 *   errno, as `sourceError`) or an HTTP 5xx from the proxy, and the SQLSTATEs above otherwise.
 *
 * The drivers of this package wrap all of it in a {@link DatabaseError} whose `code` is the
 * SQLSTATE, the errno, or empty when the driver never got an answer. Errors from other drivers
 * (a custom `Database`) are recognised by the same codes, their `cause` or `sourceError`
 * chains, and the messages node-postgres is known to use.
 * @module
 */
import { DatabaseError } from '../core/database.ts';

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

/** True for a SQLSTATE or errno that means the database cannot be reached right now. */
function isUnavailableCode(code: string): boolean {
  return (
    NETWORK_CODES.has(code) ||
    (/^08[0-9A-Z]{3}$/.test(code) && code !== '08P01') ||
    /^53[0-9A-Z]{3}$/.test(code) ||
    /^57P0[0-9]$/.test(code)
  );
}

function codeOf(error: object): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : '';
}

/**
 * True when `error` (or what it wraps) says the database cannot be reached right now: a
 * connection refused, reset or timed out, a server shutting down or starting up, a driver
 * that got no answer.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  // An empty code on our own DatabaseError means the driver never got an answer (a failed
  // fetch, a closed socket): the drivers only leave it empty for those.
  if (error instanceof DatabaseError && error.code === '') return true;
  let current: unknown = error;
  // A short walk: causes can be long or circular; the useful one is near the top.
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = codeOf(current);
    if (isUnavailableCode(code)) return true;
    if (code === '' && current instanceof Error) {
      if (CONNECTION_LOST.test(current.message)) return true;
      if (current.name === 'NeonDbError' && (current as { sourceError?: unknown }).sourceError) return true;
      if (current instanceof TypeError && current.message === 'fetch failed') return true;
    }
    const next = current as { cause?: unknown; sourceError?: unknown };
    current = next.cause ?? next.sourceError;
  }
  return false;
}

/**
 * Waiting for the database at start-up: a worker (or `task-worker migrate`) started while
 * Postgres is down, restarting or still starting retries with back-off instead of exiting,
 * and fails at once on what waiting cannot fix.
 *
 * - Worth waiting for: what `src/core/database-unreachable.ts` calls unreachable (the same rules
 *   by which the HTTP app answers 503): a server not reachable or not resolvable yet, starting
 *   up or shutting down, out of connections, a connection lost, a failed fetch (Neon HTTP).
 * - Not: authentication (28P01, 28000), a database that does not exist (3D000), a URL that
 *   does not parse, TLS refused, and anything else: they fail at once.
 *
 * Back-off: 0.5 s, doubling up to 10 s, each delay between 75% and 125% of that (jitter, so
 * workers restarted together do not knock together), for as long as the limit allows.
 * @module
 */
import { DatabaseError } from '../../src/core/database.ts';
import { databaseErrorChain, errorCode, isUnreachableError } from '../../src/core/database-unreachable.ts';
import { ConfigError, TaskWorkerError } from '../../src/core/errors.ts';
import type { Logger } from './logger.ts';

/** SQLSTATEs that mean "this will not get better by waiting", with what to check. */
const FATAL_HINTS: Readonly<Record<string, string>> = {
  '28P01': 'check the user name and password of the database URL',
  '28000': 'check the user name of the database URL and the server’s pg_hba.conf',
  '3D000': 'check the database name of the database URL',
};

export type DatabaseErrorKind = 'transient' | 'fatal';

/**
 * `transient` when waiting may help (the database cannot be reached yet, by the rules the HTTP
 * app also answers 503 by), `fatal` otherwise: authentication, an unknown database, anything
 * else. Looks through `cause`, `sourceError` (Neon) and `errors` (a connection to several
 * addresses); at each level a fatal code wins.
 */
export function classifyDatabaseError(error: unknown): DatabaseErrorKind {
  for (const current of databaseErrorChain(error)) {
    if (errorCode(current) in FATAL_HINTS) return 'fatal';
    if (isUnreachableError(current)) return 'transient';
  }
  return 'fatal';
}

/** The code to log for an error: its own, else the first one down its cause chain. */
export function databaseErrorCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = errorCode(current);
    if (code !== '') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return '';
}

/** Delay before retry number `attempt` (1, 2, ...): 0.5 s doubling to 10 s, ±25% jitter. */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(10_000, 500 * 2 ** Math.min(attempt - 1, 20));
  return Math.round(base * (0.75 + random() * 0.5));
}

/**
 * Checks a database URL before anything connects with it: pg reads `notaurl` or `http://x`
 * as a host name and would wait for it to resolve.
 * @throws ConfigError naming the option when it is not a postgres:// (or socket:) URL.
 */
export function checkDatabaseUrl(url: string, option = '--database-url / DATABASE_URL'): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new ConfigError(`${option} is not a URL: expected postgres://user:password@host:5432/database.`);
  }
  if (!['postgres:', 'postgresql:', 'socket:'].includes(protocol)) {
    throw new ConfigError(
      `${option} must be a postgres:// URL, got one starting with "${protocol}//": expected postgres://user:password@host:5432/database.`,
    );
  }
}

/**
 * The value of a `--wait-for-database` option: seconds (0 = no waiting), or `forever`.
 * @throws ConfigError for anything else.
 */
export function waitSecondsOption(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (value === 'forever') return Infinity;
  const seconds = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new ConfigError(`--wait-for-database must be a number of seconds or "forever", got "${value}".`);
  }
  return seconds;
}

export interface DatabaseWaitOptions {
  /**
   * Seconds to keep trying: `Infinity` for no limit, 0 for one try whose error is thrown as
   * it is (no waiting).
   */
  limitSeconds: number;
  logger?: Logger;
  /**
   * Ends the wait: once an attempt has failed, the promise rejects with the signal's reason at
   * once (during the delay, or during a later attempt, which is left to settle). The first
   * attempt is not interrupted: a signal while the database answers does not turn a normal
   * start into a failed one.
   */
  signal?: AbortSignal;
  /** Jitter source (tests). */
  random?: () => number;
}

/** A fatal database error with what to check added to its message (its code kept). */
function explained(error: unknown): unknown {
  if (!(error instanceof DatabaseError) || !(error.code in FATAL_HINTS)) return error;
  return new DatabaseError(
    `${error.message} (${error.code}): ${FATAL_HINTS[error.code]}; not retrying, waiting will not fix this.`,
    error,
    { cause: error },
  );
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
    };
    const aborted = () => {
      done();
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    signal?.addEventListener('abort', aborted, { once: true });
  });
}

/** `promise`, or the signal's reason as soon as it aborts (the promise is left to settle). */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const aborted = () => reject(signal.reason);
    signal.addEventListener('abort', aborted, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', aborted));
  });
}

/**
 * Runs `action` (something that needs the database) until it succeeds, retrying with back-off
 * while it fails with a {@link classifyDatabaseError transient} error, within the limit. Logs
 * `database_unavailable` (warn) before each wait and `database_available` once it succeeds
 * after waiting.
 * @throws the action's error when it is fatal (with a hint for authentication and unknown
 *   databases), or when the limit is 0; TaskWorkerError `DATABASE_UNAVAILABLE` when the limit
 *   ran out; the signal's reason when aborted after a failed attempt.
 */
export async function withDatabaseWait<T>(
  action: () => Promise<T>,
  options: DatabaseWaitOptions,
): Promise<T> {
  const { limitSeconds, logger, signal } = options;
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) signal?.throwIfAborted();
    try {
      const value = await (attempt > 1 ? unlessAborted(action(), signal) : action());
      if (attempt > 1) {
        const waitedMs = Math.round(performance.now() - started);
        logger?.log('info', 'database_available', { attempts: attempt, waitedMs });
      }
      return value;
    } catch (error) {
      if (limitSeconds === 0) throw error;
      if (classifyDatabaseError(error) === 'fatal') throw explained(error);
      if (signal?.aborted) throw signal.reason;
      const code = databaseErrorCode(error);
      const message = error instanceof Error ? error.message : String(error);
      const remaining = limitSeconds * 1000 - (performance.now() - started);
      if (remaining <= 0) {
        throw new TaskWorkerError(
          'DATABASE_UNAVAILABLE',
          `The database was still unavailable after ${limitSeconds} s (${attempt} attempts): ${message}${code ? ` (${code})` : ''}`,
          { cause: error },
        );
      }
      const delayMs = Math.min(retryDelayMs(attempt, options.random), Math.ceil(remaining));
      logger?.log('warn', 'database_unavailable', { attempt, delayMs, code, error: message });
      await sleep(delayMs, signal);
    }
  }
}

/**
 * Bearer-token authentication with a constant-time comparison, built on Web Crypto only so it
 * runs in Workers as in Node, and the back-off that slows down guessing (auth-throttle.ts).
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AuthThrottle } from './auth-throttle.ts';
import { clientKey } from './client-key.ts';
import { errorJson, HttpError } from './error-response.ts';

const encoder = new TextEncoder();
const REALM = 'Bearer realm="edge-task-worker"';
const BEARER = /^Bearer +(\S+) *$/i;

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

/**
 * Compares two SHA-256 digests in time that does not depend on where they differ. Hashing
 * first makes the inputs the same length, so the token's length does not leak either.
 */
function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number);
  return difference === 0;
}

/** The credential throttle, applied to the client of a request. */
export interface RequestThrottle {
  /** Whole seconds the request's client must wait before its credentials are checked (0: none). */
  retryAfter(c: Context): number;
  /** Records a wrong token or login from the request's client. */
  failed(c: Context): void;
  /** Records a right one: the client's failures are forgotten. */
  succeeded(c: Context): void;
}

/** Binds `throttle` (or none, for `null`) to requests, keyed as client-key.ts says. */
export function requestThrottle(throttle: AuthThrottle | null, trustProxy: boolean): RequestThrottle {
  if (!throttle) return { retryAfter: () => 0, failed: () => undefined, succeeded: () => undefined };
  return {
    retryAfter: (c) => Math.ceil(throttle.lockedFor(clientKey(c, trustProxy)) / 1000),
    failed: (c) => void throttle.recordFailure(clientKey(c, trustProxy)),
    succeeded: (c) => throttle.recordSuccess(clientKey(c, trustProxy)),
  };
}

/** 429 `TOO_MANY_ATTEMPTS` with `Retry-After`, for a client locked out by the throttle. */
export function tooManyAttempts(retryAfterSeconds: number): HttpError {
  return new HttpError(
    429,
    'TOO_MANY_ATTEMPTS',
    `Too many failed attempts from this client; try again in ${retryAfterSeconds} s.`,
    { headers: { 'Retry-After': String(retryAfterSeconds) } },
  );
}

const NO_THROTTLE = requestThrottle(null, false);

/**
 * Requires `Authorization: Bearer <token>`. Answers 401 `UNAUTHORIZED` with
 * `WWW-Authenticate: Bearer ...` (RFC 6750) when the header is missing, malformed or wrong, and
 * 429 `TOO_MANY_ATTEMPTS` while `throttle` has the client locked out (whatever it sends, the
 * right token included). A malformed or wrong header counts as a failure; a missing one does
 * not (it guesses nothing).
 */
export function bearerAuth(token: string, throttle: RequestThrottle = NO_THROTTLE): MiddlewareHandler {
  // Hashed on first use, not at import: Workers forbid crypto work at module scope.
  let expected: Promise<Uint8Array> | undefined;
  return async (c, next) => {
    const wait = throttle.retryAfter(c);
    if (wait > 0) return errorJson(c, tooManyAttempts(wait));
    const header = c.req.header('Authorization');
    const match = BEARER.exec(header ?? '');
    if (!match) {
      if (header !== undefined) throttle.failed(c);
      return errorJson(
        c,
        new HttpError(401, 'UNAUTHORIZED', 'Send the API token as "Authorization: Bearer <token>".', {
          headers: { 'WWW-Authenticate': REALM },
        }),
      );
    }
    expected ??= sha256(token);
    const [given, wanted] = await Promise.all([sha256(match[1] as string), expected]);
    if (!digestsEqual(given, wanted)) {
      throttle.failed(c);
      return errorJson(
        c,
        new HttpError(401, 'UNAUTHORIZED', 'The API token is not valid.', {
          headers: { 'WWW-Authenticate': `${REALM}, error="invalid_token"` },
        }),
      );
    }
    throttle.succeeded(c);
    await next();
  };
}

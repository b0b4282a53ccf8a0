/**
 * Bearer-token authentication with a constant-time comparison, built on Web Crypto only so it
 * runs in Workers as in Node, and the back-off that slows down guessing (auth-throttle.ts).
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AuthThrottle } from '../core/auth-throttle.ts';
import { clientKey } from './client-key.ts';
import { errorJson, HttpError } from './error-response.ts';

const encoder = new TextEncoder();
const REALM = 'Bearer realm="edge-task-worker"';
const BEARER = /^Bearer +(\S+) *$/i;

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

/**
 * Whether the SHA-256 digest `given` equals any of `wanted`, in time that depends neither on
 * where they differ nor on which one matched (every one is compared). Hashing first makes the
 * inputs the same length, so a token's length does not leak either.
 */
function matchesAny(given: Uint8Array, wanted: readonly Uint8Array[]): boolean {
  let matched = 0;
  for (const digest of wanted) {
    let difference = given.length ^ digest.length;
    for (let i = 0; i < given.length; i++) difference |= (given[i] as number) ^ (digest[i] as number);
    matched |= difference === 0 ? 1 : 0;
  }
  return matched === 1;
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

/** What a bearer check says when the header is missing or malformed, and when the token is wrong. */
export interface BearerMessages {
  missing: string;
  invalid: string;
}

const API_MESSAGES: BearerMessages = {
  missing: 'Send the API token as "Authorization: Bearer <token>".',
  invalid: 'The API token is not valid.',
};

/**
 * Requires `Authorization: Bearer <token>`. Answers 401 `UNAUTHORIZED` with
 * `WWW-Authenticate: Bearer ...` (RFC 6750) when the header is missing, malformed or wrong, and
 * 429 `TOO_MANY_ATTEMPTS` while `throttle` has the client locked out (whatever it sends, the
 * right token included). A malformed or wrong header counts as a failure; a missing one does
 * not (it guesses nothing).
 */
export function bearerAuth(token: string, throttle: RequestThrottle = NO_THROTTLE): MiddlewareHandler {
  return bearerTokens([token], throttle, API_MESSAGES);
}

/** {@link bearerAuth} that accepts any one of `tokens` (`/metrics`: the API or the metrics token). */
export function bearerTokens(
  tokens: readonly string[],
  throttle: RequestThrottle,
  messages: BearerMessages,
): MiddlewareHandler {
  // Hashed on first use, not at import: Workers forbid crypto work at module scope.
  let expected: Promise<Uint8Array[]> | undefined;
  return async (c, next) => {
    const wait = throttle.retryAfter(c);
    if (wait > 0) return errorJson(c, tooManyAttempts(wait));
    const header = c.req.header('Authorization');
    const match = BEARER.exec(header ?? '');
    if (!match) {
      if (header !== undefined) throttle.failed(c);
      return errorJson(c, unauthorized(messages.missing, REALM));
    }
    expected ??= Promise.all(tokens.map(sha256));
    const [given, wanted] = await Promise.all([sha256(match[1] as string), expected]);
    if (!matchesAny(given, wanted)) {
      throttle.failed(c);
      return errorJson(c, unauthorized(messages.invalid, `${REALM}, error="invalid_token"`));
    }
    throttle.succeeded(c);
    await next();
  };
}

function unauthorized(message: string, challenge: string): HttpError {
  return new HttpError(401, 'UNAUTHORIZED', message, { headers: { 'WWW-Authenticate': challenge } });
}

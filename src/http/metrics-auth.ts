/**
 * The bearer check of `GET /metrics`: any one of several tokens (the API token, or the
 * narrower metrics token a Prometheus server is given), compared in constant time, with the
 * same throttle and answers as the API's own check (auth.ts).
 * @module
 */
import type { MiddlewareHandler } from 'hono';
import { tooManyAttempts, type RequestThrottle } from './auth.ts';
import { errorJson, HttpError } from './error-response.ts';

const encoder = new TextEncoder();
const REALM = 'Bearer realm="edge-task-worker"';
const BEARER = /^Bearer +(\S+) *$/i;

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

/** Whether `given` equals any of `wanted`, in time that depends on neither (all are compared). */
function matchesAny(given: Uint8Array, wanted: readonly Uint8Array[]): boolean {
  let matched = 0;
  for (const digest of wanted) {
    let difference = given.length ^ digest.length;
    for (let i = 0; i < given.length; i++) difference |= (given[i] as number) ^ (digest[i] as number);
    matched |= difference === 0 ? 1 : 0;
  }
  return matched === 1;
}

function unauthorized(message: string, error?: string): HttpError {
  const challenge = error ? `${REALM}, error="${error}"` : REALM;
  return new HttpError(401, 'UNAUTHORIZED', message, { headers: { 'WWW-Authenticate': challenge } });
}

/**
 * Requires `Authorization: Bearer <one of tokens>`: 401 `UNAUTHORIZED` when missing or wrong,
 * 429 `TOO_MANY_ATTEMPTS` while `throttle` has the client locked out. A wrong or malformed
 * header counts as a failure; a missing one does not.
 */
export function anyBearerToken(tokens: readonly string[], throttle: RequestThrottle): MiddlewareHandler {
  // Hashed on first use, not at import: Workers forbid crypto work at module scope.
  let expected: Promise<Uint8Array[]> | undefined;
  return async (c, next) => {
    const wait = throttle.retryAfter(c);
    if (wait > 0) return errorJson(c, tooManyAttempts(wait));
    const header = c.req.header('Authorization');
    const match = BEARER.exec(header ?? '');
    if (!match) {
      if (header !== undefined) throttle.failed(c);
      return errorJson(
        c,
        unauthorized('Send the API token or the metrics token as "Authorization: Bearer <token>".'),
      );
    }
    expected ??= Promise.all(tokens.map(sha256));
    const [given, wanted] = await Promise.all([sha256(match[1] as string), expected]);
    if (!matchesAny(given, wanted)) {
      throttle.failed(c);
      return errorJson(c, unauthorized('The token is not valid for /metrics.', 'invalid_token'));
    }
    throttle.succeeded(c);
    await next();
  };
}

/**
 * Bearer-token authentication with a constant-time comparison, built on Web Crypto only so it
 * runs in Workers as in Node.
 * @module
 */
import type { MiddlewareHandler } from 'hono';
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

/**
 * Requires `Authorization: Bearer <token>`. Answers 401 `UNAUTHORIZED` with
 * `WWW-Authenticate: Bearer ...` (RFC 6750) when the header is missing, malformed or wrong.
 */
export function bearerAuth(token: string): MiddlewareHandler {
  // Hashed on first use, not at import: Workers forbid crypto work at module scope.
  let expected: Promise<Uint8Array> | undefined;
  return async (c, next) => {
    const match = BEARER.exec(c.req.header('Authorization') ?? '');
    if (!match) {
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
      return errorJson(
        c,
        new HttpError(401, 'UNAUTHORIZED', 'The API token is not valid.', {
          headers: { 'WWW-Authenticate': `${REALM}, error="invalid_token"` },
        }),
      );
    }
    await next();
  };
}

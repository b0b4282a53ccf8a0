/**
 * The write check of an app without a token. Any page the developer visits can send a "simple"
 * cross-site request to `http://localhost:4000` without asking (a form post, a no-cors fetch:
 * `text/plain`, form types or no body), and the browser delivers it even though the page cannot
 * read the answer. So an open API refuses a write (any method but GET and HEAD) that
 *
 * - comes from another origin (`Origin` not the app's own nor in `allowedOrigins`, or
 *   `Sec-Fetch-Site: cross-site`): 403 `FORBIDDEN_ORIGIN`;
 * - is not `Content-Type: application/json`: 415 `UNSUPPORTED_MEDIA_TYPE`. A page can only send
 *   JSON across origins after a CORS preflight, which this app never grants.
 *
 * With a token neither is needed: a cross-site page cannot attach `Authorization`, and the
 * dashboard's forms have their own checks (dashboard-auth.ts).
 * @module
 */
import type { MiddlewareHandler } from 'hono';
import { ConfigError } from '../core/errors.ts';
import { errorJson, HttpError } from './error-response.ts';
import { isCrossOrigin, normalizeOrigin } from './request-origin.ts';

const READS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/** True for `application/json`, with parameters (`; charset=utf-8`) and in any case. */
function isJson(contentType: string | undefined): boolean {
  return contentType?.split(';')[0]?.trim().toLowerCase() === 'application/json';
}

/**
 * Checks `allowedOrigins` and returns them as browsers write `Origin`.
 * @throws ConfigError for an entry that is not an http(s) origin.
 */
export function originSet(allowedOrigins: readonly string[] | undefined): ReadonlySet<string> {
  if (allowedOrigins !== undefined && !Array.isArray(allowedOrigins)) {
    throw new ConfigError('allowedOrigins must be an array of origins, e.g. ["http://localhost:3000"].');
  }
  return new Set(
    (allowedOrigins ?? []).map((entry) => {
      const origin = typeof entry === 'string' ? normalizeOrigin(entry) : undefined;
      if (origin === undefined) {
        throw new ConfigError(
          `allowedOrigins entries are origins like "http://localhost:3000" (no path), got ${JSON.stringify(entry)}.`,
        );
      }
      return origin;
    }),
  );
}

/** Refuses cross-origin and non-JSON writes (see the module comment). */
export function writeGuard(allowedOrigins: ReadonlySet<string>): MiddlewareHandler {
  return async (c, next) => {
    if (READS.has(c.req.method)) return next();
    if (isCrossOrigin(c, allowedOrigins)) {
      return errorJson(
        c,
        new HttpError(
          403,
          'FORBIDDEN_ORIGIN',
          'A page of another origin sent this request. Without an API token, only the app’s own origin ' +
            'and those in allowedOrigins may change tasks.',
        ),
      );
    }
    if (!isJson(c.req.header('Content-Type'))) {
      return errorJson(
        c,
        new HttpError(
          415,
          'UNSUPPORTED_MEDIA_TYPE',
          'Send "Content-Type: application/json": without an API token, requests that change tasks must ' +
            'say they are JSON (even without a body).',
        ),
      );
    }
    await next();
  };
}

/**
 * Where a request came from and where it went: the origin checks that refuse writes sent by
 * pages of other sites (the dashboard's form posts, the open API's writes), and the https test
 * that decides the session cookie's `Secure` flag.
 * @module
 */
import type { Context } from 'hono';

/**
 * The scheme the browser used. Behind a TLS-terminating proxy the app sees plain http, so a
 * proxy's `X-Forwarded-Proto` wins. Trusting it is safe here: a cross-site page cannot set
 * request headers on a form post, and the worst a wrong value does is a cookie without
 * `Secure` or a refused post.
 */
function scheme(c: Context): string {
  const forwarded = c.req.header('X-Forwarded-Proto')?.split(',')[0]?.trim().toLowerCase();
  if (forwarded === 'http' || forwarded === 'https') return forwarded;
  return new URL(c.req.url).protocol.slice(0, -1);
}

/** True when the browser reached the app over https (directly or through a proxy). */
export function isHttps(c: Context): boolean {
  return scheme(c) === 'https';
}

/** The request's own origin, as browsers write `Origin`: `http://localhost:4000`. */
function ownOrigin(c: Context): string {
  return `${scheme(c)}://${new URL(c.req.url).host}`.toLowerCase();
}

const NO_ORIGINS: ReadonlySet<string> = new Set();

/**
 * True when a page of another origin sent the request: its `Origin` header names another
 * origin than the request's own (`null` included, which sandboxed and privacy-sensitive
 * contexts send) and not one of `allowed` (lower-case, as {@link normalizeOrigin} gives), or,
 * without an allowed `Origin`, it says `Sec-Fetch-Site: cross-site` (set by the browser; a page
 * cannot). Browsers send `Origin` on every request that is not a GET or HEAD, so this refuses
 * forged posts; a request without either header (curl, a server) passes. Behind a proxy,
 * forward `Host` and `X-Forwarded-Proto`.
 */
export function isCrossOrigin(c: Context, allowed: ReadonlySet<string> = NO_ORIGINS): boolean {
  const origin = c.req.header('Origin')?.toLowerCase();
  if (origin !== undefined) {
    if (allowed.has(origin)) return false;
    if (origin !== ownOrigin(c)) return true;
  }
  return c.req.header('Sec-Fetch-Site')?.toLowerCase() === 'cross-site';
}

/**
 * `value` as browsers write it in `Origin` (`http://localhost:3000`: scheme, host, port when not
 * the default, lower case), or `undefined` when it is not an http(s) origin (a path, `null`).
 */
export function normalizeOrigin(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  // Only an origin: `http://x/path` or `http://user@x` is a mistake worth refusing.
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) return undefined;
  return url.origin.toLowerCase();
}

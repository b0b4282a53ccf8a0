/**
 * Where a dashboard request came from and where it went: the origin check that refuses
 * cross-site form posts, and the https test that decides the cookie's `Secure` flag.
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

/** True when the browser reached the dashboard over https (directly or through a proxy). */
export function isHttps(c: Context): boolean {
  return scheme(c) === 'https';
}

/**
 * True when the request carries an `Origin` header naming another origin than its own
 * (`null` included, which sandboxed and privacy-sensitive contexts send). Browsers send
 * `Origin` on every cross-site POST, so together with SameSite=Strict cookies this refuses
 * forged form posts. A request without `Origin` (curl, an old browser's same-site form) passes:
 * the cookie is what protects it. Behind a proxy, forward `Host` and `X-Forwarded-Proto`.
 */
export function isCrossOrigin(c: Context): boolean {
  const origin = c.req.header('Origin');
  if (origin === undefined) return false;
  const own = `${scheme(c)}://${new URL(c.req.url).host}`;
  return origin.toLowerCase() !== own.toLowerCase();
}

/**
 * The `Host` check of an app without a token. DNS rebinding lets a page the developer visits
 * point its own name (`rebind.example`) at 127.0.0.1 and then talk to a local server as its
 * own origin, reading and writing freely; the one thing it cannot change is the name in `Host`.
 * So an open app answers only loopback names, and the names it is told about.
 * @module
 */
import type { MiddlewareHandler } from 'hono';
import { ConfigError } from '../core/errors.ts';
import { errorJson, HttpError } from './error-response.ts';

/** Host names an open app answers besides loopback ones, or `true` for any. */
export type AllowedHosts = readonly string[] | true;

// A host and an optional port, nothing else (no userinfo, path or spaces to confuse a parser).
const HOST_HEADER = /^(?:[a-z0-9._-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;
const HOST_NAME = /^\.?(?:[a-z0-9_-]+\.)*[a-z0-9_-]+$|^\[[0-9a-f:.]+\]$/i;
const LOOPBACK_IPV4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** True for `localhost`, `*.localhost`, 127.0.0.0/8 and `[::1]`. */
export function isLoopbackHostname(hostname: string): boolean {
  if (hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '[::1]') return true;
  const octets = LOOPBACK_IPV4.exec(hostname);
  return octets !== null && octets.slice(1).every((octet) => Number(octet) <= 255);
}

/**
 * The host name the request is for (lower case, without port or trailing dot, IPv4 in dotted
 * form as the URL parser writes it), or `undefined` when `Host` is not a plain host name.
 */
function requestHostname(host: string): string | undefined {
  if (!HOST_HEADER.test(host)) return undefined;
  try {
    return new URL(`http://${host}`).hostname.replace(/\.$/, '');
  } catch {
    return undefined;
  }
}

/**
 * Checks `allowedHosts` and returns the test a host name must pass.
 * @throws ConfigError for an entry that is not a host name (or `.domain`).
 */
export function hostMatcher(allowedHosts: AllowedHosts | undefined): (hostname: string) => boolean {
  if (allowedHosts === true) return () => true;
  if (allowedHosts !== undefined && !Array.isArray(allowedHosts)) {
    throw new ConfigError('allowedHosts must be an array of host names, or true.');
  }
  const names = (allowedHosts ?? []).map((entry) => {
    if (typeof entry !== 'string' || !HOST_NAME.test(entry)) {
      throw new ConfigError(
        `allowedHosts entries are host names without port ("devbox", ".example.test"), got ${JSON.stringify(entry)}.`,
      );
    }
    return entry.toLowerCase();
  });
  return (hostname) =>
    isLoopbackHostname(hostname) ||
    names.some((name) =>
      name.startsWith('.') ? hostname === name.slice(1) || hostname.endsWith(name) : hostname === name,
    );
}

/**
 * Answers 421 `MISDIRECTED_HOST` for a request whose `Host` (or, without one, URL host) is not
 * loopback and not allowed. For apps without a token only: with a token, a rebound page gets
 * nowhere without it.
 */
export function hostGuard(allowed: (hostname: string) => boolean): MiddlewareHandler {
  return async (c, next) => {
    const host = c.req.header('Host') ?? new URL(c.req.url).host;
    const hostname = requestHostname(host);
    if (hostname === undefined || !allowed(hostname)) {
      return errorJson(
        c,
        new HttpError(
          421,
          'MISDIRECTED_HOST',
          `This server does not answer for host ${JSON.stringify(host.slice(0, 100))}: without an API token ` +
            'it answers only loopback names (localhost, 127.0.0.1, [::1]) and those in allowedHosts.',
        ),
      );
    }
    await next();
  };
}

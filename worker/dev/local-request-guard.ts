/**
 * Who may talk to the local endpoints of `task-worker dev` (Neon SQL over HTTP, Upstash REST).
 * Both hand out a whole database, so a request must:
 *
 * - name the endpoint in its `Host` header as a loopback name (`localhost`, `*.localhost`,
 *   `127.0.0.0/8`, `[::1]`), the address it listens on, or an entry of `allowedHosts`, with any
 *   port (a local relay or proxy may stand in front): a page on another domain that DNS
 *   rebinding pointed at 127.0.0.1 sends its own name, and is refused (421);
 * - not come from a browser page, unless its origin is in `allowedOrigins`: any `Origin` header,
 *   or `Sec-Fetch-Site: cross-site`/`same-site`, is refused (403), CORS preflights included, with
 *   no CORS headers. Server-side clients (Node's fetch, workerd, the edge runtime) send neither;
 * - carry `Authorization: Bearer <token>` (401 otherwise), compared in constant time.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { ConfigError } from '../../src/core/errors.ts';
import { isLoopbackHostname } from '../../src/http/host-guard.ts';
import { normalizeOrigin } from '../../src/http/request-origin.ts';

/** Who else may reach an endpoint; by default only this machine's server-side clients. */
export interface LocalAccessOptions {
  /**
   * Extra `Host` header values to accept besides loopback names, e.g. `['devbox.lan',
   * '192.168.1.20']` when listening on `0.0.0.0` for a LAN. A name without a port matches with
   * any port; `name:port` (`[v6]:port`) only with that one. The address given as `host`, unless
   * a wildcard, is always accepted (default: none).
   */
  allowedHosts?: readonly string[];
  /**
   * Browser origins allowed to call the endpoint, e.g. `['http://localhost:3000']`: their
   * requests and CORS preflights are answered with CORS headers naming that origin. They still
   * need the token (default: none; every request with an `Origin` header is refused).
   */
  allowedOrigins?: readonly string[];
}

/** What to do with a request, before reading its body. */
export type GuardVerdict =
  | {
      kind: 'refuse';
      status: 401 | 403 | 421;
      message: string;
      /** CORS headers to add (an allowed origin reading its own 401). */
      headers: Record<string, string>;
    }
  /** An allowed origin's CORS preflight: answer 204 with `headers`. */
  | { kind: 'preflight'; headers: Record<string, string> }
  /** Serve it, adding `headers` (CORS headers for an allowed origin) to the answer. */
  | { kind: 'serve'; headers: Record<string, string> };

/** Checks each request of one endpoint. */
export interface LocalRequestGuard {
  /** The verdict for `request`. */
  check(request: IncomingMessage): GuardVerdict;
}

interface HostPattern {
  hostname: string;
  /** `undefined`: any port. */
  port: number | undefined;
}

const WILDCARD_ADDRESSES = new Set(['', '0.0.0.0', '::', '[::]']);
// Host header characters: names, IPv4, bracketed IPv6 and a port. Anything else (userinfo, a
// path, spaces) is refused before the URL parser could read it as something else.
const HOST_CHARACTERS = /^[a-z0-9.\-_:[\]]+$/i;
// Preflights of an allowed origin may ask for these headers (the Neon and Upstash clients' own).
const REQUEST_HEADER_TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Checks `Authorization: Bearer <token>` in constant time: both sides are hashed first, so
 * neither the comparison nor the length of the token leaks through timing.
 */
export function createTokenCheck(token: string): (headers: IncomingHttpHeaders) => boolean {
  const expected = digest(token);
  return (headers) => {
    const match = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '');
    return match !== null && timingSafeEqual(digest(match[1]!.trim()), expected);
  };
}

/** `host[:port]` as a browser would put it in a URL, or `undefined` when it is not one. */
function parseHost(text: string): { hostname: string; port: number } | undefined {
  if (!HOST_CHARACTERS.test(text)) return undefined;
  try {
    const url = new URL(`http://${text}`);
    if (url.username || url.password || url.pathname !== '/' || url.host.length === 0) return undefined;
    return { hostname: url.hostname, port: url.port === '' ? 80 : Number(url.port) };
  } catch {
    return undefined;
  }
}

function hostPattern(entry: string, option: string): HostPattern {
  const hasPort = /:\d+$/.test(entry) && (!entry.startsWith('[') || entry.includes(']:'));
  const parsed = parseHost(entry);
  if (!parsed) {
    throw new ConfigError(
      `${option}: ${JSON.stringify(entry)} is not a host name or address (with an optional :port).`,
    );
  }
  return { hostname: parsed.hostname, port: hasPort ? parsed.port : undefined };
}

function originOf(entry: string): string {
  // A trailing '#' parses to an empty hash: refused too, as not an origin as browsers write it.
  const origin = entry.endsWith('#') ? undefined : normalizeOrigin(entry);
  if (!origin) {
    throw new ConfigError(
      `allowedOrigins: ${JSON.stringify(entry)} is not an origin such as http://localhost:3000 ` +
        '(http or https, host and port only; "null" and "*" are not accepted).',
    );
  }
  return origin;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * The guard of one endpoint. `listenHost` is the interface it listens on: a specific address
 * or name given there is accepted as a `Host` too.
 * @throws ConfigError for an entry of `allowedHosts` or `allowedOrigins` that cannot match.
 */
export function createLocalRequestGuard(
  token: string,
  listenHost: string,
  options: LocalAccessOptions,
): LocalRequestGuard {
  const isAuthorized = createTokenCheck(token);
  const hosts = allowedHostPatterns(listenHost, options.allowedHosts ?? []);
  const origins = new Set((options.allowedOrigins ?? []).map(originOf));

  return {
    check(request) {
      const host = single(request.headers.host);
      if (!hostAllowed(hosts, host)) {
        return {
          kind: 'refuse',
          status: 421,
          message:
            `Host ${JSON.stringify(host ?? '')} is not this local endpoint: use localhost or 127.0.0.1, ` +
            'or list the name in allowedHosts',
          headers: {},
        };
      }
      const origin = single(request.headers.origin);
      const site = single(request.headers['sec-fetch-site'])?.toLowerCase();
      const fromBrowser = origin !== undefined || site === 'cross-site' || site === 'same-site';
      let cors: Record<string, string> = {};
      if (fromBrowser) {
        if (origin === undefined || !origins.has(origin)) {
          return {
            kind: 'refuse',
            status: 403,
            message:
              origin === undefined
                ? `requests from another site (Sec-Fetch-Site: ${site}) are refused`
                : `requests from origin ${JSON.stringify(origin)} are refused: list it in allowedOrigins`,
            headers: {},
          };
        }
        cors = { 'access-control-allow-origin': origin, vary: 'Origin' };
        if (request.method === 'OPTIONS')
          return { kind: 'preflight', headers: preflightHeaders(request, cors) };
      }
      if (request.method === 'POST' && !isAuthorized(request.headers)) {
        return {
          kind: 'refuse',
          status: 401,
          message: 'missing or wrong bearer token (Authorization: Bearer <token>)',
          headers: cors,
        };
      }
      return { kind: 'serve', headers: cors };
    },
  };
}

/** The `Host` patterns of `allowedHosts`, plus the address listened on unless a wildcard. */
function allowedHostPatterns(listenHost: string, allowedHosts: readonly string[]): HostPattern[] {
  const hosts = allowedHosts.map((entry) => hostPattern(entry, 'allowedHosts'));
  if (!WILDCARD_ADDRESSES.has(listenHost)) {
    const own = parseHost(
      listenHost.includes(':') && !listenHost.startsWith('[') ? `[${listenHost}]` : listenHost,
    );
    if (own) hosts.push({ hostname: own.hostname, port: undefined });
  }
  return hosts;
}

/** Whether a `Host` header names a loopback name or one of `hosts`. */
function hostAllowed(hosts: readonly HostPattern[], header: string | undefined): boolean {
  const parsed = header === undefined ? undefined : parseHost(header);
  if (!parsed) return false;
  if (isLoopbackHostname(parsed.hostname)) return true;
  return hosts.some(
    (allowed) =>
      allowed.hostname === parsed.hostname && (allowed.port === undefined || allowed.port === parsed.port),
  );
}

/** The answer to an allowed origin's CORS preflight: `cors` plus what it may send. */
function preflightHeaders(request: IncomingMessage, cors: Record<string, string>): Record<string, string> {
  const asked = (single(request.headers['access-control-request-headers']) ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => REQUEST_HEADER_TOKEN.test(name));
  const headers: Record<string, string> = {
    ...cors,
    'access-control-allow-methods': 'POST',
    'access-control-max-age': '600',
  };
  if (asked.length > 0) headers['access-control-allow-headers'] = asked.join(', ');
  if (single(request.headers['access-control-request-private-network']) === 'true') {
    headers['access-control-allow-private-network'] = 'true';
  }
  return headers;
}

/**
 * The container worker's `GET /metrics` (`task-worker run --metrics-port`): a small node:http
 * server that answers a registry's Prometheus text and nothing else.
 *
 * Anything that listens is reachable from every web page the operator opens, so:
 * - it listens on 127.0.0.1 unless told otherwise, and refuses to listen beyond loopback
 *   without a token (ConfigError at start);
 * - with a token, every request needs `Authorization: Bearer <token>` (compared in constant
 *   time); a page of another site cannot send that header without a CORS preflight, which is
 *   never granted; an address that sends wrong tokens is locked out for a while (429, with
 *   `Retry-After`), as the API's guessers are (src/core/auth-throttle.ts);
 * - without one, it answers only loopback `Host` names (421 otherwise: DNS rebinding) and no
 *   request from a browser page (`Origin`, `Sec-Fetch-Site: cross-site|same-site`: 403), so a
 *   page cannot even make it run the queue query.
 * It reads nothing but the registry: the token is worth the counts, not the tasks.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { authThrottleOf, type AuthThrottle, type AuthThrottleOptions } from '../../src/core/auth-throttle.ts';
import { ConfigError } from '../../src/core/errors.ts';
import type { MetricsRegistry } from '../../src/core/metrics/metrics-registry.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../../src/core/metrics/prometheus-text.ts';

export interface MetricsServerOptions {
  registry: MetricsRegistry;
  /** 0 picks a free port (see `port` on the result). */
  port: number;
  /** Interface to listen on (default: 127.0.0.1). Beyond loopback, `token` is required. */
  host?: string;
  /** Bearer token every scrape must send (`TASK_WORKER_METRICS_TOKEN` for the CLI). */
  token?: string;
  /** Without a token: host names answered besides loopback ones (default: none). */
  allowedHosts?: readonly string[];
  /**
   * Back-off for wrong tokens, per client address, as the API's (default: 5 wrong tokens in a
   * row, then 1 s, doubling up to 15 minutes); `false` turns it off.
   */
  authThrottle?: AuthThrottleOptions | AuthThrottle | false;
}

export interface MetricsServer {
  /** `http://host:port/metrics`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** True for `localhost`, `*.localhost`, 127.0.0.0/8 and `::1` (with or without brackets). */
export function isLoopbackName(name: string): boolean {
  const host = name
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost') || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** The host name of a `Host` header (no port), or undefined when it is not a plain host[:port]. */
function hostName(header: string | undefined): string | undefined {
  if (!header || !/^(?:[a-z0-9._-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i.test(header)) return undefined;
  return header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.split(':')[0];
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** @throws ConfigError for a bad port or token, or a non-loopback host without a token. */
function checkOptions(options: MetricsServerOptions): { host: string; token: string | undefined } {
  const { port, token } = options;
  const host = options.host ?? '127.0.0.1';
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`The metrics port must be an integer from 0 to 65535, got ${String(port)}.`);
  }
  if (token !== undefined && (typeof token !== 'string' || !/^\S+$/.test(token))) {
    throw new ConfigError('The metrics token must be a non-empty string without whitespace.');
  }
  if (!isLoopbackName(host) && !token) {
    throw new ConfigError(
      `Serving metrics on ${host} makes them reachable beyond this machine: set a token ` +
        '(TASK_WORKER_METRICS_TOKEN), or listen on 127.0.0.1.',
    );
  }
  return { host, token };
}

type Refusal = [number, string, Record<string, string>?];

/** Undefined when `request` sends the token; else 401, or 429 while its address is locked out. */
function tokenRefusal(
  request: IncomingMessage,
  wanted: Buffer,
  throttle: AuthThrottle | null,
): Refusal | undefined {
  const client = request.socket.remoteAddress ?? 'unknown';
  const wait = throttle?.lockedFor(client) ?? 0;
  if (wait > 0) return tooMany(wait);
  const match = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '');
  if (match && timingSafeEqual(digest(match[1] as string), wanted)) {
    throttle?.recordSuccess(client);
    return undefined;
  }
  const lockout = throttle?.recordFailure(client) ?? 0;
  if (lockout > 0) return tooMany(lockout);
  return [
    401,
    'Send the metrics token as "Authorization: Bearer <token>".',
    { 'WWW-Authenticate': 'Bearer' },
  ];
}

function tooMany(waitMs: number): Refusal {
  return [
    429,
    'Too many wrong tokens from this address: wait, then send the right one.',
    { 'Retry-After': String(Math.ceil(waitMs / 1000)) },
  ];
}

/** Starts the server; resolves once it listens. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { host, token } = checkOptions(options);
  const allowed = new Set((options.allowedHosts ?? []).map((name) => name.toLowerCase()));
  const wanted = token === undefined ? undefined : digest(token);
  const throttle = wanted ? authThrottleOf(options.authThrottle) : null;
  const refusal = (request: IncomingMessage): Refusal | undefined => {
    if (wanted) return tokenRefusal(request, wanted, throttle);
    const name = hostName(request.headers.host);
    if (!name || !(isLoopbackName(name) || allowed.has(name.toLowerCase()))) {
      return [421, 'This server answers only loopback host names.'];
    }
    const site = request.headers['sec-fetch-site'];
    if (request.headers.origin !== undefined || site === 'cross-site' || site === 'same-site') {
      return [403, 'Requests from web pages are refused.'];
    }
    return undefined;
  };
  const server = createServer({ headersTimeout: 10_000, requestTimeout: 10_000 }, (request, response) => {
    void answer(request, response, options.registry, refusal);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new ConfigError(`Port ${options.port} is in use; pick another metrics port.`)
          : error,
      ),
    );
    server.listen(options.port, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const urlHost = isIP(host) === 6 ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/metrics`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function answer(
  request: IncomingMessage,
  response: ServerResponse,
  registry: MetricsRegistry,
  refusal: (request: IncomingMessage) => Refusal | undefined,
): Promise<void> {
  const text = (status: number, body: string, headers: Record<string, string> = {}) => {
    response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
    response.end(`${body}\n`);
  };
  try {
    const refused = refusal(request);
    if (refused) return text(...refused);
    if ((request.url ?? '').split('?')[0] !== '/metrics') return text(404, 'Not found: try /metrics.');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return text(405, 'Only GET and HEAD.', { Allow: 'GET, HEAD' });
    }
    const body = await registry.render();
    response.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Cache-Control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : body);
  } catch {
    if (!response.headersSent) text(500, 'Internal error.');
    else response.destroy();
  }
}

/**
 * A local HTTP server speaking Neon's SQL-over-HTTP protocol on top of a real Postgres, so
 * the real `neon()` client from `@neondatabase/serverless` runs unchanged in tests and in
 * `task-worker dev`: point it here with `neonConfig.fetchEndpoint = endpoint.url` and give the
 * client the endpoint's token, `neon(url, { authToken: endpoint.authToken })`.
 *
 * Statements run with the extended protocol and raw text values, so multi-statement SQL,
 * type parsing and error fields behave as they do on Neon.
 *
 * Whoever reaches it runs SQL, so it only serves requests that carry `Authorization: Bearer
 * <authToken>` (401), name it by a loopback `Host` (421: DNS rebinding) and come from no
 * browser page unless allowed (403); see {@link LocalAccessOptions}. It runs statements as
 * the role of `databaseUrl`: make that a least-privilege role (no superuser, so no `COPY ...
 * TO PROGRAM`), since every token holder gets its rights.
 *
 * The body is read as JSON whatever its `Content-Type`: `neon()` itself sends
 * `text/plain;charset=UTF-8` (a string body with no type set), as Neon accepts. That is also
 * what a cross-site "simple" request looks like, but a browser cannot add `Authorization` to
 * one without a preflight, and any request from a page (`Origin`, `Sec-Fetch-Site`) is
 * refused before the token is even looked at.
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../../src/core/errors.ts';
import {
  createLocalRequestGuard,
  type LocalAccessOptions,
  type LocalRequestGuard,
} from './local-request-guard.ts';
import { errorAnswer, plainErrorAnswer } from './neon-endpoint/error-answer.ts';
import { PoolCache } from './neon-endpoint/pool-cache.ts';
import { runBatch, runStatement } from './neon-endpoint/query-execution.ts';
import { NEON_SIZE_LIMIT, readBoundedBody } from './neon-endpoint/request-body.ts';
import { header, parseSqlRequest } from './neon-endpoint/sql-request.ts';

/** How to start a {@link NeonEndpoint}. */
export interface NeonEndpointOptions extends LocalAccessOptions {
  /**
   * The bearer token every request must carry (required): clients pass it as
   * `neon(url, { authToken })`, the task client as `neonAuthToken` or `NEON_AUTH_TOKEN`.
   */
  authToken: string;
  /**
   * Interface to listen on (default: 127.0.0.1). For `0.0.0.0`, list the names or addresses
   * the LAN uses to reach it in `allowedHosts`.
   */
  host?: string;
  /** Port to listen on; 0 lets the kernel pick a free one (default: 0). */
  port?: number;
  /**
   * Postgres to run every statement on, instead of the URL in the `Neon-Connection-String`
   * header, whose host, user and database are then ignored. Lets a client keep a
   * production-shaped connection string, and pins the role statements run as: give a
   * least-privilege one (default: the header's URL, so a client picks any role it can log
   * in as).
   */
  databaseUrl?: string;
  /** Connections per `pg.Pool`; one pool is kept per distinct connection string (default: 10). */
  maxPoolSize?: number;
}

/** A running endpoint. */
export interface NeonEndpoint {
  /** What to assign to `neonConfig.fetchEndpoint`, e.g. `http://127.0.0.1:PORT/sql`. */
  readonly url: string;
  /** The port actually bound. */
  readonly port: number;
  /** The token clients must send (`NEON_AUTH_TOKEN`). */
  readonly authToken: string;
  /** Stops listening, drops open (also keep-alive) connections and ends every pool. */
  close(): Promise<void>;
}

/**
 * Starts a Neon SQL-over-HTTP endpoint backed by node-postgres.
 * @returns once the server is listening.
 * @throws ConfigError without an `authToken`, or for an `allowedHosts`/`allowedOrigins`
 *   entry that cannot match.
 */
export async function startNeonEndpoint(options: NeonEndpointOptions): Promise<NeonEndpoint> {
  if (typeof options?.authToken !== 'string' || options.authToken === '') {
    throw new ConfigError('startNeonEndpoint needs a non-empty authToken.');
  }
  const host = options.host ?? '127.0.0.1';
  const guard = createLocalRequestGuard(options.authToken, host, options);
  const pools = new PoolCache(options.maxPoolSize ?? 10);
  const server = createServer((request, response) => {
    void answer(request, response, { guard, pools, databaseUrl: options.databaseUrl });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}/sql`,
    port,
    authToken: options.authToken,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        // server.close() alone waits for keep-alive and half-sent requests to time out.
        server.closeAllConnections();
        await stopped;
        await pools.end();
      })();
      return closing;
    },
  };
}

interface Context {
  guard: LocalRequestGuard;
  pools: PoolCache;
  databaseUrl: string | undefined;
}

async function answer(request: IncomingMessage, response: ServerResponse, context: Context): Promise<void> {
  const verdict = context.guard.check(request);
  if (verdict.kind !== 'serve') {
    request.resume();
    if (verdict.kind === 'preflight') write(response, 204, undefined, '', verdict.headers);
    else send(response, verdict.status, plainErrorAnswer(verdict.message), verdict.headers);
    return;
  }
  const { pools, databaseUrl } = context;
  const cors = verdict.headers;
  try {
    if (request.method !== 'POST') {
      request.resume();
      send(response, 405, plainErrorAnswer(`method ${request.method ?? ''} not allowed, use POST`), {
        ...cors,
        allow: 'POST',
      });
      return;
    }
    const body = await readBoundedBody(request, NEON_SIZE_LIMIT);
    if (body === undefined) {
      sendText(response, 507, `request is too large (max is ${NEON_SIZE_LIMIT} bytes)`, cors);
      return;
    }
    const connectionString = databaseUrl ?? header(request.headers, 'neon-connection-string');
    if (connectionString === undefined || connectionString === '') {
      send(
        response,
        400,
        plainErrorAnswer('missing connection string (Neon-Connection-String header)'),
        cors,
      );
      return;
    }
    const sql = parseSqlRequest(body, request.headers);
    const pool = pools.get(connectionString);
    const result =
      sql.kind === 'single'
        ? await runStatement(pool, sql.statement)
        : { results: await runBatch(pool, sql.begin, sql.statements) };
    send(response, 200, result, cors);
  } catch (error) {
    send(response, 400, errorAnswer(error), cors);
  }
}

function send(
  response: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const json = JSON.stringify(value);
  if (Buffer.byteLength(json) > NEON_SIZE_LIMIT) {
    sendText(response, 507, `response is too large (max is ${NEON_SIZE_LIMIT} bytes)`, headers);
    return;
  }
  write(response, status, 'application/json', json, headers);
}

function sendText(
  response: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string>,
): void {
  write(response, status, 'text/plain; charset=utf-8', text, headers);
}

function write(
  response: ServerResponse,
  status: number,
  contentType: string | undefined,
  text: string,
  headers: Record<string, string>,
): void {
  // The socket may already be gone (client aborted, endpoint closing); nobody to answer.
  if (response.destroyed || response.headersSent) return;
  response.writeHead(status, {
    ...headers,
    ...(contentType === undefined ? {} : { 'content-type': contentType }),
    'content-length': String(Buffer.byteLength(text)),
  });
  response.end(text);
}

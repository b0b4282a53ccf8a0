/**
 * A local HTTP server speaking Neon's SQL-over-HTTP protocol on top of a real Postgres, so
 * the real `neon()` client from `@neondatabase/serverless` runs unchanged in tests and in
 * `task-worker dev`: point it here with `neonConfig.fetchEndpoint = endpoint.url`.
 *
 * Statements run with the extended protocol and raw text values, so multi-statement SQL,
 * type parsing and error fields behave as they do on Neon.
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorAnswer, plainErrorAnswer } from './neon-endpoint/error-answer.ts';
import { PoolCache } from './neon-endpoint/pool-cache.ts';
import { runBatch, runStatement } from './neon-endpoint/query-execution.ts';
import { NEON_SIZE_LIMIT, readBoundedBody } from './neon-endpoint/request-body.ts';
import { header, parseSqlRequest } from './neon-endpoint/sql-request.ts';

/** How to start a {@link NeonEndpoint}. */
export interface NeonEndpointOptions {
  /** Interface to listen on (default: 127.0.0.1). */
  host?: string;
  /** Port to listen on; 0 lets the kernel pick a free one (default: 0). */
  port?: number;
  /**
   * Postgres to run every statement on, instead of the URL in the `Neon-Connection-String`
   * header, whose host, user and database are then ignored. Lets a client keep a
   * production-shaped connection string (default: the header's URL).
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
  /** Stops listening, drops open (also keep-alive) connections and ends every pool. */
  close(): Promise<void>;
}

/**
 * Starts a Neon SQL-over-HTTP endpoint backed by node-postgres.
 * @returns once the server is listening.
 */
export async function startNeonEndpoint(options: NeonEndpointOptions = {}): Promise<NeonEndpoint> {
  const host = options.host ?? '127.0.0.1';
  const pools = new PoolCache(options.maxPoolSize ?? 10);
  const server = createServer((request, response) => {
    void answer(request, response, pools, options.databaseUrl);
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

async function answer(
  request: IncomingMessage,
  response: ServerResponse,
  pools: PoolCache,
  databaseUrl: string | undefined,
): Promise<void> {
  try {
    if (request.method !== 'POST') {
      request.resume();
      send(response, 405, plainErrorAnswer(`method ${request.method ?? ''} not allowed, use POST`), {
        allow: 'POST',
      });
      return;
    }
    const body = await readBoundedBody(request, NEON_SIZE_LIMIT);
    if (body === undefined) {
      sendText(response, 507, `request is too large (max is ${NEON_SIZE_LIMIT} bytes)`);
      return;
    }
    const connectionString = databaseUrl ?? header(request.headers, 'neon-connection-string');
    if (connectionString === undefined || connectionString === '') {
      send(response, 400, plainErrorAnswer('missing connection string (Neon-Connection-String header)'));
      return;
    }
    const sql = parseSqlRequest(body, request.headers);
    const pool = pools.get(connectionString);
    const result =
      sql.kind === 'single'
        ? await runStatement(pool, sql.statement)
        : { results: await runBatch(pool, sql.begin, sql.statements) };
    send(response, 200, result);
  } catch (error) {
    send(response, 400, errorAnswer(error));
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
    sendText(response, 507, `response is too large (max is ${NEON_SIZE_LIMIT} bytes)`);
    return;
  }
  write(response, status, 'application/json', json, headers);
}

function sendText(response: ServerResponse, status: number, text: string): void {
  write(response, status, 'text/plain; charset=utf-8', text, {});
}

function write(
  response: ServerResponse,
  status: number,
  contentType: string,
  text: string,
  headers: Record<string, string>,
): void {
  // The socket may already be gone (client aborted, endpoint closing); nobody to answer.
  if (response.destroyed || response.headersSent) return;
  response.writeHead(status, {
    ...headers,
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(text)),
  });
  response.end(text);
}

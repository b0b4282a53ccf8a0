/**
 * A local HTTP server speaking Upstash Redis's REST protocol, so the real `@upstash/redis`
 * client runs unchanged in tests and in `task-worker dev`:
 * `new Redis({ url: endpoint.url, token: endpoint.token })`.
 *
 * `POST /` runs one command, `/pipeline` several in order, `/multi-exec` several in
 * MULTI/EXEC; `Upstash-Encoding: base64` encodes every string of a result; `POST
 * /subscribe/<channel>` and `/psubscribe/<pattern>` answer with server-sent events. Backed by
 * a real Redis when `redisUrl` is given, by an in-memory keyspace otherwise.
 *
 * Every request needs `Authorization: Bearer <token>` (401), a loopback `Host` (421: DNS
 * rebinding) and no browser `Origin` unless allowed (403); see {@link LocalAccessOptions}. Only
 * data and pub/sub commands run (see command-allowlist.ts): administrative ones (CONFIG, EVAL,
 * FLUSHALL, SHUTDOWN, ...) are refused with 400 `{"error":"ERR command '...' is not allowed
 * ..."}`, and a pipeline or transaction holding one is refused whole, before any of it runs.
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
import { readBoundedBody } from './neon-endpoint/request-body.ts';
import { refusedCommand, refusedCommands } from './upstash-endpoint/command-allowlist.ts';
import { serveEventStream } from './upstash-endpoint/event-stream.ts';
import { createMemoryBackend } from './upstash-endpoint/memory-backend.ts';
import { createRedisBackend } from './upstash-endpoint/redis-backend.ts';
import { encodeReply, replyEntry, ReplyError, type CommandBackend } from './upstash-endpoint/reply.ts';
import { BadRequest, parseCommand, parseCommands, parseJson } from './upstash-endpoint/rest-request.ts';

/** Upstash refuses larger requests on its paid plans too. */
const REQUEST_LIMIT = 10 * 1024 * 1024;

/** How to start an {@link UpstashEndpoint}. */
export interface UpstashEndpointOptions extends LocalAccessOptions {
  /** Port to listen on; 0 lets the kernel pick a free one (default: 0). */
  port?: number;
  /**
   * Interface to listen on (default: 127.0.0.1). For `0.0.0.0`, list the names or addresses
   * the LAN uses to reach it in `allowedHosts`.
   */
  host?: string;
  /** The bearer token clients must send (`UPSTASH_REDIS_REST_TOKEN`). */
  token: string;
  /**
   * `redis://` URL of a real Redis to run commands and pub/sub on (default: an in-memory
   * keyspace with the common string, hash, list and pub/sub commands, lost on close).
   */
  redisUrl?: string;
}

/** A running endpoint. */
export interface UpstashEndpoint {
  /** `UPSTASH_REDIS_REST_URL`, e.g. `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** The port actually bound. */
  readonly port: number;
  /** The token clients must send. */
  readonly token: string;
  /** Ends every event stream, stops listening, drops connections and closes the backend. */
  close(): Promise<void>;
}

/**
 * Starts an Upstash REST endpoint.
 * @returns once listening (and connected to Redis, with `redisUrl`).
 * @throws ConfigError without a token, or for an `allowedHosts`/`allowedOrigins` entry that
 *   cannot match; an Error when Redis cannot be reached.
 */
export async function startUpstashEndpoint(options: UpstashEndpointOptions): Promise<UpstashEndpoint> {
  if (!options.token) throw new ConfigError('startUpstashEndpoint needs a non-empty token.');
  const host = options.host ?? '127.0.0.1';
  const guard = createLocalRequestGuard(options.token, host, options);
  const backend = options.redisUrl ? await createRedisBackend(options.redisUrl) : createMemoryBackend();
  const streams = new Set<() => void>();
  const server = createServer((request, response) => {
    void answer(request, response, { guard, backend, streams });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await backend.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    token: options.token,
    close() {
      closing ??= (async () => {
        // Ending streams cleanly lets clients read the end instead of a reset connection.
        for (const end of [...streams]) end();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const force = setTimeout(() => server.closeAllConnections(), 500);
        await stopped;
        clearTimeout(force);
        await backend.close();
      })();
      return closing;
    },
  };
}

interface Context {
  guard: LocalRequestGuard;
  backend: CommandBackend;
  streams: Set<() => void>;
}

async function answer(request: IncomingMessage, response: ServerResponse, context: Context): Promise<void> {
  const verdict = context.guard.check(request);
  if (verdict.kind !== 'serve') {
    request.resume();
    if (verdict.kind === 'preflight') {
      response.writeHead(204, { ...verdict.headers, 'content-length': '0' }).end();
    } else {
      // Upstash's own answer to a bad token is {"error":"Unauthorized"}.
      const error = verdict.status === 401 ? 'Unauthorized' : `ERR ${verdict.message}`;
      send(response, verdict.status, { error }, verdict.headers);
    }
    return;
  }
  const { backend, streams } = context;
  const cors = verdict.headers;
  try {
    if (request.method !== 'POST') {
      request.resume();
      send(
        response,
        405,
        { error: `ERR method ${request.method ?? ''} not allowed, use POST` },
        { ...cors, allow: 'POST' },
      );
      return;
    }
    const body = await readBoundedBody(request, REQUEST_LIMIT);
    if (body === undefined) {
      send(response, 413, { error: `ERR max request size exceeded (${REQUEST_LIMIT} bytes)` }, cors);
      return;
    }
    const base64 = String(request.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';
    const path = new URL(request.url ?? '/', 'http://endpoint').pathname;
    if (path === '/') {
      const command = parseCommand(parseJson(body));
      const reply = refusedCommand(command) ?? (await backend.run(command));
      if (reply instanceof ReplyError) send(response, 400, { error: reply.message }, cors);
      else send(response, 200, { result: encodeReply(reply, base64) }, cors);
    } else if (path === '/pipeline' || path === '/multi-exec') {
      // A refused command refuses the whole request before any of it runs: nothing half-written.
      const commands = parseCommands(parseJson(body));
      const refused = refusedCommands(commands);
      const replies =
        refused ??
        (path === '/pipeline'
          ? await Promise.all(commands.map((command) => backend.run(command)))
          : await backend.transaction(commands));
      if (replies instanceof ReplyError) send(response, 400, { error: replies.message }, cors);
      else
        send(
          response,
          200,
          replies.map((reply) => replyEntry(reply, base64)),
          cors,
        );
    } else if (path.startsWith('/subscribe/') || path.startsWith('/psubscribe/')) {
      const pattern = path.startsWith('/psubscribe/');
      const name = decodePath(path.slice(pattern ? '/psubscribe/'.length : '/subscribe/'.length));
      await serveEventStream(response, backend, pattern ? 'pattern' : 'channel', name, streams, cors);
    } else {
      send(response, 404, { error: `ERR unknown endpoint ${path}` }, cors);
    }
  } catch (error) {
    if (error instanceof BadRequest) send(response, 400, { error: error.message }, cors);
    else
      send(response, 500, { error: `ERR ${error instanceof Error ? error.message : String(error)}` }, cors);
  }
}

function decodePath(segment: string): string {
  try {
    const name = decodeURIComponent(segment);
    if (name !== '') return name;
  } catch {
    // Falls through to the error below.
  }
  throw new BadRequest(`ERR invalid channel in path: ${JSON.stringify(segment)}`);
}

function send(
  response: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string>,
): void {
  // The socket may already be gone (client aborted, endpoint closing); nobody to answer.
  if (response.destroyed || response.headersSent) return;
  const text = JSON.stringify(value);
  response.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
  });
  response.end(text);
}

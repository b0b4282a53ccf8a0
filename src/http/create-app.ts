/**
 * Builds the HTTP API: a Hono app over injected drivers. It never reads env or opens
 * connections itself; entry points (the Worker, `task-worker dev`) pass the config in.
 * @module
 */
import { Hono } from 'hono';
import { createTaskClient, type TaskClient } from '../../client/task-client.ts';
import type { Database } from '../database.ts';
import { ConfigError } from '../errors.ts';
import { DEFAULT_SCHEMA } from '../sql/schema-name.ts';
import { taskQueryStatements } from '../sql/task-query-statements.ts';
import { bearerAuth } from './auth.ts';
import { registerDashboardRoutes } from './dashboard/dashboard-routes.ts';
import { handleError, type ErrorLogger } from './error-response.ts';
import { routeFallback } from './route-fallback.ts';
import { registerHealthRoutes } from './routes-health.ts';
import { registerListRoutes } from './routes-list.ts';
import { registerStatsRoutes } from './routes-stats.ts';
import { registerTaskRoutes } from './routes-tasks.ts';

/** Options of {@link createApp}. */
export interface AppOptions {
  /** The database driver (Neon HTTP on the edge, node-postgres in a container). */
  database: Database;
  /**
   * The bearer token every route but `/healthz` requires (`TASK_WORKER_API_TOKEN` in entry
   * points). Required: leaving it out throws a {@link ConfigError}, so a missing env var
   * cannot silently publish an open API. Pass `false` explicitly to run without
   * authentication, for local development only.
   */
  apiToken?: string | false;
  /**
   * The client that creates, reads, cancels and waits for tasks (default: a client over
   * `database` and `schema`). Pass your own to share its configuration (payload limit,
   * notifier); it must use the same schema as `schema`.
   */
  client?: TaskClient;
  /** Schema holding the tables (default: task_worker). */
  schema?: string;
  /** Longest `GET /tasks/:id/wait` may wait, in seconds; longer requests are capped (default: 60). */
  maxWaitSeconds?: number;
  /** Largest `POST /tasks` body, in bytes; larger ones get 413 (default: 2 MiB). */
  maxBodyBytes?: number;
  /**
   * Receives unexpected errors (answered as a bare 500), database outages (503) and failed
   * health checks, with the request (default: `console.error`).
   */
  onError?: ErrorLogger;
}

const DEFAULT_MAX_WAIT_SECONDS = 60;
const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;

function defaultLogger(error: unknown, request: Request): void {
  console.error(`edge-task-worker: ${request.method} ${new URL(request.url).pathname} failed:`, error);
}

function checkOptions(options: AppOptions): {
  apiToken: string | false;
  maxWaitSeconds: number;
  maxBodyBytes: number;
} {
  if (typeof options.database?.query !== 'function') {
    throw new ConfigError(
      'createApp needs a database driver, e.g. createNeonHttpDatabase({ connectionString }).',
    );
  }
  const { apiToken } = options;
  if (apiToken !== false && (typeof apiToken !== 'string' || apiToken === '')) {
    throw new ConfigError(
      'createApp needs apiToken: the bearer token clients must send (e.g. from TASK_WORKER_API_TOKEN), ' +
        'or apiToken: false to run without authentication in local development.',
    );
  }
  // A bearer token cannot contain whitespace (RFC 6750), so such a token could never match.
  if (typeof apiToken === 'string' && /\s/.test(apiToken)) {
    throw new ConfigError('apiToken must not contain whitespace (check for a trailing newline).');
  }
  const maxWaitSeconds = options.maxWaitSeconds ?? DEFAULT_MAX_WAIT_SECONDS;
  if (typeof maxWaitSeconds !== 'number' || !(maxWaitSeconds >= 0) || !Number.isFinite(maxWaitSeconds)) {
    throw new ConfigError(`maxWaitSeconds must be a number of seconds >= 0, got ${String(maxWaitSeconds)}.`);
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw new ConfigError(`maxBodyBytes must be a positive integer, got ${String(maxBodyBytes)}.`);
  }
  return { apiToken, maxWaitSeconds, maxBodyBytes };
}

/**
 * Creates the HTTP API, a Hono app. All bodies are JSON; every error is
 * `{ error: { code, message, field? } }`.
 *
 * | Route | Success | Errors |
 * |---|---|---|
 * | `GET /healthz` (open) | 200 `{ ok: true }` | 503 `DATABASE_UNAVAILABLE` |
 * | `POST /tasks` (object, or array for many) | 201 task, or array of tasks | 400 `INVALID_JSON`, `INVALID_BODY`, `NOT_JSON`, a validation code (`INVALID_NAME`, ...); 413 `PAYLOAD_TOO_LARGE` |
 * | `GET /tasks?status=&name=&queue=&limit=&cursor=` | 200 `{ tasks, nextCursor }` | 400 `INVALID_STATUS`, `INVALID_NAME`, `INVALID_QUEUE`, `INVALID_LIMIT`, `INVALID_CURSOR` |
 * | `GET /tasks/:id` | 200 task | 400 `INVALID_TASK_ID`; 404 `TASK_NOT_FOUND` |
 * | `GET /tasks/:id/wait?timeout=<seconds>` | 200 `{ task, done }` | 400 `INVALID_TIMEOUT`, `INVALID_TASK_ID`; 404 |
 * | `POST /tasks/:id/cancel` | 200 `{ task, changed }` | 400; 404 |
 * | `POST /tasks/:id/retry` | 200 task, `PENDING` again | 400; 404; 409 `TASK_NOT_FINAL`, `UNIQUE_KEY_CONFLICT` |
 * | `GET /stats` | 200 `{ counts, totals, throughput }` | |
 *
 * Wait: answers as soon as the task is final, with `done: true`; when `timeout` (default: 30,
 * capped at `maxWaitSeconds`) passes first, with the unfinished task and `done: false`, also
 * 200, so a caller simply asks again. Cancel: `changed: false` when the task was already
 * final (it is returned unchanged). Retry: a final task goes back to `PENDING`, due now,
 * with `retryCount` 0 and its error, result and timeline cleared.
 *
 * Any route but `/healthz` without the right `Authorization: Bearer <token>` gets 401
 * `UNAUTHORIZED`; an unknown path 404 `NOT_FOUND`; a known path with another method 405
 * `METHOD_NOT_ALLOWED`; a database outage 503 `DATABASE_UNAVAILABLE`; anything else 500
 * `INTERNAL` with no detail (the error goes to `onError`).
 *
 * Edge-safe: Web standards only. Mount it in a bigger app with `app.route('/api', createApp(...))`.
 * @throws ConfigError when `apiToken` is missing or an option is out of range.
 */
export function createApp(options: AppOptions): Hono {
  const { apiToken, maxWaitSeconds, maxBodyBytes } = checkOptions(options);
  const { database } = options;
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const statements = taskQueryStatements(schema);
  const client = options.client ?? createTaskClient({ database, schema });
  const log = options.onError ?? defaultLogger;

  const app = new Hono();
  // Hono runs handlers in registration order: /healthz answers before the auth middleware
  // is reached, which is what keeps it open.
  registerHealthRoutes(app, { database, statements, log });
  // Before the bearer middleware too: browsers log in to the dashboard with a cookie.
  registerDashboardRoutes(app, { client, database, statements, apiToken });
  if (apiToken !== false) app.use('*', bearerAuth(apiToken));
  registerTaskRoutes(app, { client, maxWaitSeconds, maxBodyBytes });
  registerListRoutes(app, { database, statements });
  registerStatsRoutes(app, { database, statements });
  app.notFound(routeFallback(app));
  app.onError(handleError(log));
  return app;
}

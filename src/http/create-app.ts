/**
 * Builds the HTTP API: a Hono app over injected drivers. It never reads env or opens
 * connections itself; entry points (the Worker, `task-worker dev`) pass the config in.
 * @module
 */
import { Hono } from 'hono';
import { createTaskClient, type TaskClient } from '../core/service/task-client.ts';
import type { Database } from '../core/database.ts';
import { ConfigError } from '../core/errors.ts';
import type { Notifier } from '../core/notifier.ts';
import { toLogger, type AnyLogger, type Logger } from '../core/logger.ts';
import { DEFAULT_SCHEMA } from '../core/schema-name.ts';
import { taskQueryStatements } from '../core/sql/task-query-statements.ts';
import { bearerAuth, requestThrottle } from './auth.ts';
import { authThrottleOf, type AuthThrottle, type AuthThrottleOptions } from '../core/auth-throttle.ts';
import { registerDashboardRoutes } from './dashboard/dashboard-routes.ts';
import { handleError, type ErrorLogger } from './error-response.ts';
import { hostGuard, hostMatcher, type AllowedHosts } from './host-guard.ts';
import { routeFallback } from './route-fallback.ts';
import { registerHealthRoutes } from './routes-health.ts';
import { registerListRoutes } from './routes-list.ts';
import { checkMetricsOptions, registerMetricsRoutes, type MetricsAppOptions } from './routes-metrics.ts';
import { registerRedriveRoutes } from './routes-redrive.ts';
import { registerScheduleRoutes } from './routes-schedules.ts';
import { registerStatsRoutes, type StatsAppOptions } from './routes-stats.ts';
import { registerTaskRoutes } from './routes-tasks.ts';
import { countTaskWrites } from './task-counters.ts';
import { originSet, writeGuard } from './write-guard.ts';

/** Options of {@link createApp}. */
export interface AppOptions extends MetricsAppOptions, StatsAppOptions {
  /** The database driver (Neon HTTP on the edge, node-postgres in a container). */
  database: Database;
  /**
   * The bearer token every route but `/healthz` requires (`TASK_WORKER_API_TOKEN` in entry
   * points). Required: leaving it out throws a {@link ConfigError}, so a missing env var
   * cannot silently publish an open API. Pass `false` explicitly to run without
   * authentication, for local development only: the app then answers only loopback host names
   * (see `allowedHosts`) and refuses writes from other origins or without
   * `Content-Type: application/json` (see `allowedOrigins`).
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
  /** Largest `POST /tasks` (and schedule) body, in bytes; larger ones get 413 (default: 2 MiB). */
  maxBodyBytes?: number;
  /**
   * Receives unexpected errors (answered as a bare 500), database outages (503) and failed
   * health checks, with the request (default: `console.error`).
   */
  onError?: ErrorLogger;
  /**
   * Your logger, pino or any with pino's debug/info/warn/error and child (a child with
   * `component: 'http'` is used), or the project's `createLogger()`: `onError`'s default then
   * writes one `request_failed` line (method, path, error, stack) to it instead of `console.error`.
   */
  logger?: AnyLogger;
  /**
   * Back-off for wrong credentials (bearer tokens on every route, dashboard logins), per client:
   * after `maxFailures` (5) failures in a row, 429 `TOO_MANY_ATTEMPTS` with `Retry-After` for
   * `lockoutSeconds` (1), doubled with every further failure up to `maxLockoutSeconds` (900),
   * the right token included; a success or `windowSeconds` (900) without a failure forgets them.
   * Default: a throttle of this app with those numbers, at most 10,000 clients. Its state is in
   * memory: per process on Node, per isolate on Cloudflare, so an entry point that builds an
   * app per request should pass one {@link AuthThrottle} from `createAuthThrottle()` it keeps
   * across requests. `false` turns it off. Who a client is: see `trustProxy`.
   */
  authThrottle?: AuthThrottleOptions | AuthThrottle | false;
  /**
   * Key the throttle on the last `X-Forwarded-For` address, the one your own reverse proxy
   * appended (default: false). Without it the key is the socket's address on Node
   * (@hono/node-server), `CF-Connecting-IP` on Cloudflare, and one shared key elsewhere. Turn it
   * on only behind a proxy that appends to the header: otherwise a client picks its own key.
   */
  trustProxy?: boolean;
  /**
   * Without a token (`apiToken: false`), the host names answered besides loopback ones
   * (`localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`, any port); a name starting with `.`
   * also allows its subdomains (`.example.test`). `true` answers any host: DNS rebinding then
   * lets any web page use the API. Other hosts get 421 `MISDIRECTED_HOST` (default: none;
   * ignored with a token).
   */
  allowedHosts?: AllowedHosts;
  /**
   * Without a token, the origins besides the app's own whose pages may change tasks
   * (`["http://localhost:3000"]`); writes from any other origin get 403 `FORBIDDEN_ORIGIN`
   * (default: none; ignored with a token, which a cross-site page cannot send anyway).
   */
  allowedOrigins?: readonly string[];
  /**
   * Serves `GET` and `POST /run` behind the token: a run of the serverless executor (sweep,
   * schedules, due tasks within `?budget=`). The Cloudflare Worker passes its own; an app that
   * does not execute tasks leaves it out (then `/run` is 404). Needs `apiToken`: a run is not
   * offered without authentication.
   */
  run?: (request: Request) => Promise<Response>;
  /**
   * Feeds the dashboard's live pages: they update over server-sent events as this notifier's
   * task events arrive (use the client's notifier). Without one they poll every few seconds;
   * leave it out where the app lives for one request (a Cloudflare Worker's `fetch`).
   */
  notifier?: Notifier;
  /** Most dashboard event streams open at once; more are answered 503 and poll (default: 20). */
  maxDashboardStreams?: number;
}

const DEFAULT_MAX_WAIT_SECONDS = 60;
const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;

function defaultLogger(error: unknown, request: Request): void {
  console.error(`edge-task-worker: ${request.method} ${new URL(request.url).pathname} failed:`, error);
}

/** `onError` as one `request_failed` line of `logger` (the path, never the query string). */
function errorLogLine(logger: Logger): ErrorLogger {
  return (error, request) => {
    const { method } = request;
    const path = new URL(request.url).pathname;
    const stack = error instanceof Error ? error.stack : undefined;
    logger.log('error', 'request_failed', { method, path, error: String(error), stack });
  };
}

function checkOptions(options: AppOptions): {
  apiToken: string | false;
  maxWaitSeconds: number;
  maxBodyBytes: number;
  throttle: AuthThrottle | null;
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
  if (options.run !== undefined && (typeof options.run !== 'function' || apiToken === false)) {
    throw new ConfigError('createApp: run must be a function, and serving /run needs apiToken.');
  }
  const maxWaitSeconds = options.maxWaitSeconds ?? DEFAULT_MAX_WAIT_SECONDS;
  if (typeof maxWaitSeconds !== 'number' || !(maxWaitSeconds >= 0) || !Number.isFinite(maxWaitSeconds)) {
    throw new ConfigError(`maxWaitSeconds must be a number of seconds >= 0, got ${String(maxWaitSeconds)}.`);
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw new ConfigError(`maxBodyBytes must be a positive integer, got ${String(maxBodyBytes)}.`);
  }
  return { apiToken, maxWaitSeconds, maxBodyBytes, throttle: authThrottleOf(options.authThrottle) };
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
 * | `POST /tasks/redrive` (`{ name?, queue?, errorType?, from?, to?, limit?, dryRun? }`) | 200 `{ matched, redriven, skipped, taskIds, skippedTaskIds, dryRun }` | 400 `INVALID_JSON`, `INVALID_BODY`, `INVALID_OPTIONS`, `INVALID_NAME`, `INVALID_QUEUE`, `INVALID_ERROR_TYPE`, `INVALID_TIME_RANGE`, `INVALID_LIMIT`; 409 `UNIQUE_KEY_CONFLICT`; 413 |
 * | `GET /failures?name=&queue=&errorType=&from=&to=&limit=` | 200 `{ reasons }`: `FAILED` tasks by error type, biggest first | 400 as above |
 * | `GET /stats` | 200 `{ counts, totals, throughput }` | |
 * | `GET /metrics` (API or metrics token) | 200 Prometheus text: see routes-metrics.ts | |
 * | `GET /schedules` | 200 `{ schedules }` by name, each with `nextFireAt` | |
 * | `POST /schedules` (`{ name, cron, task, timezone?, args?, kwargs?, options?, misfire?, ... }`) | 201 schedule | 400 `INVALID_JSON`, `INVALID_BODY`, `INVALID_SCHEDULE`, a task validation code; 409 `SCHEDULE_EXISTS`; 413 |
 * | `GET /schedules/:name` | 200 schedule | 404 `SCHEDULE_NOT_FOUND` |
 * | `PUT /schedules/:name` (the same body; `name` optional) | 200 schedule, definition replaced | 400; 404 `SCHEDULE_NOT_FOUND`; 413 |
 * | `POST /schedules/:name/pause`, `.../resume` | 200 schedule | 404 `SCHEDULE_NOT_FOUND` |
 * | `DELETE /schedules/:name` | 204 (its tasks stay) | 404 `SCHEDULE_NOT_FOUND` |
 * | `GET` or `POST /run?budget=<seconds>` (only with the `run` option) | 200 `{ budgetMs, skipped, leading, swept, fired, executed }` | 400 `INVALID_BUDGET`; 405 for other methods |
 *
 * Wait: answers as soon as the task is final, with `done: true`; when `timeout` (default: 30,
 * capped at `maxWaitSeconds`) passes first, with the unfinished task and `done: false`, also
 * 200, so a caller simply asks again. Cancel: `changed: false` when the task was already
 * final (it is returned unchanged). Retry: a final task goes back to `PENDING`, due now,
 * with `retryCount` 0 and its error, result and timeline cleared.
 *
 * Redrive: the `FAILED` tasks matching every given filter (`from`/`to` bound when they failed),
 * oldest first, up to `limit` (default 1,000, at most 100,000), each retried as above; one whose
 * uniqueKey an unfinished task holds is skipped and listed in `skippedTaskIds`. `dryRun: true`
 * only counts (`matched`). `GET /failures` takes the same filters (empty ones mean any) and
 * `limit` groups (default 20, at most 100).
 *
 * Schedules: dates are ISO strings like a task's; `nextFireAt` is null while paused. `PUT`
 * replaces the definition but keeps the pause state, the counters and the last fire (`paused:
 * true` pauses; only `resume` resumes, from the next fire time after now). Unknown body fields
 * and non-boolean flags are refused (400 `INVALID_SCHEDULE` with `field`).
 *
 * Any route but `/healthz` without the right `Authorization: Bearer <token>` gets 401
 * `UNAUTHORIZED`, and 429 `TOO_MANY_ATTEMPTS` with `Retry-After` once its client has sent too
 * many wrong ones (`authThrottle`); an unknown path 404 `NOT_FOUND`; a known path with another
 * method 405 `METHOD_NOT_ALLOWED`; a database that cannot be reached 503
 * `DATABASE_UNAVAILABLE` with `Retry-After` on every route (an HTML page on the dashboard);
 * anything else 500 `INTERNAL` with no detail (the error goes to `onError`).
 *
 * Without a token (`apiToken: false`): a `Host` that is not loopback nor in `allowedHosts` gets
 * 421 `MISDIRECTED_HOST` on every route; a write (not GET or HEAD) to the API from another
 * origin (`Origin`, `Sec-Fetch-Site: cross-site`) not in `allowedOrigins` 403
 * `FORBIDDEN_ORIGIN`, and one without `Content-Type: application/json` 415
 * `UNSUPPORTED_MEDIA_TYPE`. With a token these do not apply: a page of another site cannot
 * attach the bearer header without a CORS preflight, which this app never grants.
 *
 * Edge-safe: Web standards only. Mount it in a bigger app with `app.route('/api', createApp(...))`.
 * @throws ConfigError when `apiToken` is missing or an option is out of range.
 */
export function createApp(options: AppOptions): Hono {
  const { apiToken, maxWaitSeconds, maxBodyBytes, throttle: authThrottle } = checkOptions(options);
  const open = apiToken === false;
  // Checked even with a token, so a bad value fails at start-up wherever it is configured.
  const allowedHost = hostMatcher(options.allowedHosts);
  const allowedOrigins = originSet(options.allowedOrigins);
  const throttle = requestThrottle(authThrottle, options.trustProxy === true);
  const { database } = options;
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const statements = taskQueryStatements(schema);
  const metrics = checkMetricsOptions(options);
  const client = countTaskWrites(options.client ?? createTaskClient({ database, schema }), metrics.registry);
  const log =
    options.onError ?? (options.logger ? errorLogLine(toLogger(options.logger, 'http')) : defaultLogger);

  const app = new Hono();
  // Hono runs handlers in registration order. Without a token, the Host check comes first: it
  // covers every route.
  if (open) app.use('*', hostGuard(allowedHost));
  // /healthz answers before the auth middleware is reached, which is what keeps it open.
  registerHealthRoutes(app, { database, statements, log });
  // Before the bearer middleware too: browsers log in to the dashboard with a cookie. The
  // dashboard answers every /dashboard request itself, so the write check below is the API's.
  registerDashboardRoutes(app, {
    client,
    database,
    statements,
    apiToken,
    throttle,
    schema,
    notifier: options.notifier,
    maxStreams: options.maxDashboardStreams,
    onError: log,
  });
  // Before the bearer middleware as well: it also takes the metrics token.
  registerMetricsRoutes(app, { ...metrics, database, schema, apiToken, throttle, log });
  if (open) app.use('*', writeGuard(allowedOrigins));
  else app.use('*', bearerAuth(apiToken, throttle));
  registerTaskRoutes(app, { client, maxWaitSeconds, maxBodyBytes });
  registerRedriveRoutes(app, { client });
  registerListRoutes(app, { database, statements });
  registerStatsRoutes(app, { database, statements, cacheSeconds: options.statsCacheSeconds });
  registerScheduleRoutes(app, { schedules: client.schedules, maxBodyBytes });
  const { run } = options;
  // Every method: the run endpoint answers 405 itself (HEAD included, which Hono maps to GET).
  if (run) app.all('/run', (c) => run(c.req.raw));
  app.notFound(routeFallback(app));
  app.onError(handleError(log));
  return app;
}

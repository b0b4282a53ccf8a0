/**
 * The dashboard under `/dashboard`: server-rendered HTML pages over the same client and
 * queries as the JSON API. Web standards only, so it runs wherever the API runs (Workers
 * included), and it needs no JavaScript in the browser.
 *
 * | Route | Answer |
 * |---|---|
 * | `GET /dashboard/login` | the token form (open) |
 * | `POST /dashboard/login` | 303 to the overview with the session cookie; 401 with the form again |
 * | `POST /dashboard/logout` | 303 to the login page, cookie deleted |
 * | `GET /dashboard?status=&queue=&name=&cursor=` | throughput, charts, counts and limits per queue, newest tasks (50 a page) |
 * | `GET /dashboard/tasks/:id` | every field of one task; 404 page for an unknown id |
 * | `POST /dashboard/tasks/:id/cancel`, `.../retry` | 303 back to the task page with a flash |
 * | `GET /dashboard/schedules` | every schedule: cron, task, next and last fire, last task, counts |
 * | `POST /dashboard/schedules/:name/pause`, `.../resume`, `.../delete` | 303 back to the schedules page with a flash; 404 page for an unknown name |
 * | `GET /dashboard/failures?name=&queue=&errorType=&from=&to=` | FAILED tasks grouped by error type, with "Retry all matching (N)"; 400 page for a bad filter |
 * | `POST /dashboard/failures/redrive` | 303 back to the failures page with the counts; 400 page for a bad filter or limit |
 * | `GET /dashboard/live`, `/dashboard/events`, `/dashboard/tasks/:id/live`, `.../events`, `/dashboard/assets/…` | live updates: see live-routes.ts |
 *
 * The overview and task pages update without a reload when JavaScript runs (live-script.ts):
 * over server-sent events fed by the notifier, or by polling without one. Without JavaScript
 * they are the same pages, current as of their loading.
 *
 * Without a session (or bearer token) every route but the login page answers 303 to it; a
 * POST with a foreign `Origin` (or `Sec-Fetch-Site: cross-site`) gets 403; a client locked out
 * after too many wrong tokens gets 429 (login form and bearer header); a database that cannot
 * be reached, an HTML 503 page; other paths and methods under `/dashboard` get the API's JSON
 * 404 and 405.
 * @module
 */
import type { Hono } from 'hono';
import type { TaskClient } from '../../core/service/task-client.ts';
import type { Database } from '../../core/database.ts';
import { ConfigError } from '../../core/errors.ts';
import type { Notifier } from '../../core/notifier.ts';
import { warnNotifierError } from '../../core/notifier-error.ts';
import { dashboardStatements } from '../../core/sql/dashboard-statements.ts';
import type { TaskQueryStatements } from '../../core/sql/task-query-statements.ts';
import { isTaskId } from '../../core/task-id.ts';
import type { RequestThrottle } from '../auth.ts';
import type { ErrorLogger } from '../error-response.ts';
import { routeFallback } from '../route-fallback.ts';
import { cachedThroughput, DepthSampler, loadThroughput } from './chart-data.ts';
import { registerDashboardActions } from './dashboard-actions.ts';
import { registerDashboardAuth } from './dashboard-auth.ts';
import { DASHBOARD_PATH, dashboardRoot, schedulesPath } from './dashboard-paths.ts';
import { databaseOutagePage } from './database-outage.ts';
import { flashFor } from './flash.ts';
import { htmlPage } from './layout.ts';
import { LiveChannels } from './live-channels.ts';
import { registerLiveRoutes } from './live-routes.ts';
import type { LiveStreamSettings } from './live-stream.ts';
import { loadOverview } from './live-views.ts';
import { readOverviewQuery } from './overview-data.ts';
import { taskNotFoundPage } from './pages/message-page.ts';
import { overviewPage } from './pages/overview-page.ts';
import { schedulesPage } from './pages/schedules-page.ts';
import { taskPage } from './pages/task-page.ts';
import { registerScheduleActions } from './schedule-actions.ts';
import { registerFailureRoutes } from './redrive-actions.ts';

/** What {@link registerDashboardRoutes} needs; `createApp` passes its own. */
export interface DashboardConfig {
  /**
   * Reads, cancels and retries tasks (and publishes the notifications that go with it), and
   * manages schedules (`client.schedules`).
   */
  client: TaskClient;
  database: Database;
  /** `taskList` and `taskStats` of the app's schema. */
  statements: TaskQueryStatements;
  /** The API token the login form asks for, or `false` for an open dashboard. */
  apiToken: string | false;
  /** The clock sessions expire by, in milliseconds since the epoch (default: `Date.now`). */
  now?: () => number;
  /** Back-off for wrong logins and bearer tokens; `createApp` shares the API's. */
  throttle: RequestThrottle;
  /** The schema `statements` and `client` use: it names the notifier channels. */
  schema: string;
  /** Feeds live pages over server-sent events; without one, pages poll. */
  notifier?: Notifier | undefined;
  /** Most live streams open at once; more are answered 503 and poll (default: 20). */
  maxStreams?: number | undefined;
  /** Receives failed reads of open live streams (default: `console.error`). */
  onError?: ErrorLogger | undefined;
  /** Timings of live updates, for tests (defaults in {@link LIVE_DEFAULTS}). */
  live?: Partial<LiveSettings>;
}

/** Timings of live updates. */
export interface LiveSettings extends LiveStreamSettings {
  /** Keep a notifier subscription this long after its last stream ended (ms). */
  lingerMs: number;
  /** Longest wait for a new notifier subscription before a stream is refused (ms). */
  readyTimeoutMs: number;
  /** Read the throughput chart's numbers at most this often (ms). */
  chartTtlMs: number;
}

/** Default timings of live updates. */
export const LIVE_DEFAULTS: LiveSettings = {
  heartbeatMs: 15_000,
  retryMs: 2_000,
  maxAgeMs: 5 * 60_000,
  debounceMs: 250,
  minIntervalMs: 1_000,
  busyRefreshMs: 5_000,
  idleRefreshMs: 30_000,
  lingerMs: 30_000,
  readyTimeoutMs: 3_000,
  chartTtlMs: 5_000,
};

const DEFAULT_MAX_STREAMS = 20;

function checkMaxStreams(value: number | undefined): number {
  const max = value ?? DEFAULT_MAX_STREAMS;
  if (!Number.isSafeInteger(max) || max < 0) {
    throw new ConfigError(`maxDashboardStreams must be an integer >= 0, got ${String(value)}.`);
  }
  return max;
}

/**
 * Registers the dashboard on `app`. Call it before the API's bearer middleware: the
 * dashboard checks its own cookie, and answers every `/dashboard` request itself.
 */
export function registerDashboardRoutes(app: Hono, config: DashboardConfig): void {
  const { client, database, statements, apiToken } = config;
  const logout = apiToken !== false;
  const maxStreams = checkMaxStreams(config.maxStreams);
  const settings = { ...LIVE_DEFAULTS, ...config.live };
  const onError = config.onError ?? ((error: unknown) => console.error('edge-task-worker dashboard:', error));
  const charts = dashboardStatements(config.schema);
  const sources = {
    client,
    database,
    statements,
    throughput: cachedThroughput(() => loadThroughput(database, charts), settings.chartTtlMs),
    depth: new DepthSampler(),
  };
  const channels =
    config.notifier && maxStreams > 0
      ? new LiveChannels(config.notifier, { ...settings, onError: warnNotifierError })
      : null;
  // `/dashboard/*` matches `/dashboard` itself too.
  app.use(`${DASHBOARD_PATH}/*`, databaseOutagePage(logout));
  registerDashboardAuth(app, { apiToken, now: config.now ?? Date.now, throttle: config.throttle });
  const live = registerLiveRoutes(app, {
    sources,
    schema: config.schema,
    channels,
    maxStreams,
    settings,
    onError,
  });

  app.get(DASHBOARD_PATH, async (c) => {
    const query = readOverviewQuery((key) => c.req.query(key));
    const data = await loadOverview(sources, query);
    const html = overviewPage({
      root: dashboardRoot(c),
      logout,
      flash: flashFor(c.req.query('flash')),
      query,
      ...data,
      live: data.page === null ? null : live.overview(c, query),
    });
    return htmlPage(c, html, data.page === null ? 400 : 200);
  });

  app.get(`${DASHBOARD_PATH}/tasks/:id`, async (c) => {
    const id = c.req.param('id');
    const root = dashboardRoot(c);
    const task = isTaskId(id) ? await client.getTask(id) : null;
    if (!task) return htmlPage(c, taskNotFoundPage(root, id, logout), 404);
    const flash = flashFor(c.req.query('flash'));
    return htmlPage(c, taskPage({ root, logout, flash, task, at: new Date(), live: live.task(c, id) }));
  });

  registerDashboardActions(app, { client, logout });

  app.get(schedulesPath(DASHBOARD_PATH), async (c) => {
    const schedules = await client.schedules.list();
    const now = (config.now ?? Date.now)();
    const flash = flashFor(c.req.query('flash'));
    return htmlPage(c, schedulesPage({ root: dashboardRoot(c), logout, flash, schedules, now }));
  });

  registerScheduleActions(app, { schedules: client.schedules, logout });

  registerFailureRoutes(app, { client, logout });

  // Everything else under /dashboard ends here, past the session check, so a logged-in
  // browser gets the API's 404, or 405 with Allow for a known path, instead of falling through
  // to the bearer middleware and a 401 it could do nothing about.
  const fallback = routeFallback(app);
  app.all(`${DASHBOARD_PATH}/*`, (c) => fallback(c));
}

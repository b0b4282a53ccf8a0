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
 * | `GET /dashboard?status=&queue=&name=&cursor=` | counts, throughput, newest tasks (50 a page) |
 * | `GET /dashboard/tasks/:id` | every field of one task; 404 page for an unknown id |
 * | `POST /dashboard/tasks/:id/cancel`, `.../retry` | 303 back to the task page with a flash |
 * | `GET /dashboard/schedules` | every schedule: cron, task, next and last fire, last task, counts |
 * | `POST /dashboard/schedules/:name/pause`, `.../resume`, `.../delete` | 303 back to the schedules page with a flash; 404 page for an unknown name |
 * | `GET /dashboard/failures?name=&queue=&errorType=&from=&to=` | FAILED tasks grouped by error type, with "Retry all matching (N)"; 400 page for a bad filter |
 * | `POST /dashboard/failures/redrive` | 303 back to the failures page with the counts; 400 page for a bad filter or limit |
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
import type { TaskQueryStatements } from '../../core/sql/task-query-statements.ts';
import { isTaskId } from '../../core/task-id.ts';
import type { RequestThrottle } from '../auth.ts';
import { routeFallback } from '../route-fallback.ts';
import { registerDashboardActions } from './dashboard-actions.ts';
import { registerDashboardAuth } from './dashboard-auth.ts';
import { DASHBOARD_PATH, dashboardRoot, schedulesPath } from './dashboard-paths.ts';
import { databaseOutagePage } from './database-outage.ts';
import { flashFor } from './flash.ts';
import { htmlPage } from './layout.ts';
import { loadOverviewStats, loadTaskPage, parseOverviewFilters, readOverviewQuery } from './overview-data.ts';
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
}

/**
 * Registers the dashboard on `app`. Call it before the API's bearer middleware: the
 * dashboard checks its own cookie, and answers every `/dashboard` request itself.
 */
export function registerDashboardRoutes(app: Hono, config: DashboardConfig): void {
  const { client, database, statements, apiToken } = config;
  const logout = apiToken !== false;
  // `/dashboard/*` matches `/dashboard` itself too.
  app.use(`${DASHBOARD_PATH}/*`, databaseOutagePage(logout));
  registerDashboardAuth(app, { apiToken, now: config.now ?? Date.now, throttle: config.throttle });

  app.get(DASHBOARD_PATH, async (c) => {
    const query = readOverviewQuery((key) => c.req.query(key));
    const parsed = parseOverviewFilters(query);
    const [stats, page] = await Promise.all([
      loadOverviewStats(database, statements),
      'filters' in parsed ? loadTaskPage(database, statements, parsed.filters) : null,
    ]);
    const html = overviewPage({
      root: dashboardRoot(c),
      logout,
      flash: flashFor(c.req.query('flash')),
      query,
      stats,
      page,
      error: 'error' in parsed ? parsed.error : undefined,
    });
    return htmlPage(c, html, page === null ? 400 : 200);
  });

  app.get(`${DASHBOARD_PATH}/tasks/:id`, async (c) => {
    const id = c.req.param('id');
    const root = dashboardRoot(c);
    const task = isTaskId(id) ? await client.getTask(id) : null;
    if (!task) return htmlPage(c, taskNotFoundPage(root, id, logout), 404);
    return htmlPage(c, taskPage({ root, logout, flash: flashFor(c.req.query('flash')), task }));
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

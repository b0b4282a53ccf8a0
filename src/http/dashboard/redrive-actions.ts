/**
 * The dashboard's dead letters: `GET /dashboard/failures` (the failures page) and its one
 * change, `POST /dashboard/failures/redrive` ("Retry all matching"). The change goes through
 * the client's `redriveFailed`, like the JSON API's, so workers get the same wake-ups, then
 * redirects (303) back to the page with the counts. The session, the origin check and the
 * cookie's SameSite guard it as they guard the task actions.
 * @module
 */
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { TaskValidationError, TaskWorkerError } from '../../core/errors.ts';
import type { FailedTaskFilters } from '../../core/service/redrive-failed.ts';
import type { TaskClient } from '../../core/service/task-client.ts';
import { DASHBOARD_PATH, dashboardRoot, withQuery } from './dashboard-paths.ts';
import { htmlPage, redirect } from './layout.ts';
import {
  FAILURE_GROUPS_SHOWN,
  failuresPage,
  failuresPath,
  redriveFlash,
  type FailuresQuery,
} from './pages/failures-page.ts';
import { messagePage } from './pages/message-page.ts';

/** What {@link registerFailureRoutes} needs. */
export interface FailureRoutesConfig {
  client: TaskClient;
  /** Show the log-out button on pages (false for an open dashboard). */
  logout: boolean;
}

const FIELDS = ['name', 'queue', 'errorType', 'from', 'to'] as const;
// The form holds five filters and a number; anything much bigger is not it.
const MAX_FORM_BYTES = 16 * 1024;
// A date and time without an offset, as people type it: read as UTC, whatever the server's zone.
const LOCAL_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$/;

/** The filters as typed; a missing field is empty. Nothing is trimmed (queue names may hold spaces). */
export function readFailuresQuery(field: (key: string) => string | undefined): FailuresQuery {
  const query = {} as FailuresQuery;
  for (const key of FIELDS) query[key] = field(key) ?? '';
  return query;
}

/** The client's filters from the typed ones: empty means any, times without an offset are UTC. */
export function failureFilters(query: FailuresQuery): FailedTaskFilters {
  const time = (value: string): string | undefined =>
    value === '' ? undefined : LOCAL_DATE_TIME.test(value) ? `${value.replace(' ', 'T')}Z` : value;
  const text = (value: string): string | undefined => (value === '' ? undefined : value);
  return {
    name: text(query.name),
    queue: text(query.queue),
    errorType: text(query.errorType),
    from: time(query.from),
    to: time(query.to),
  };
}

async function formFields(c: Context): Promise<Record<string, string>> {
  let body: Record<string, unknown>;
  try {
    body = await c.req.parseBody();
  } catch {
    // A malformed body is the sender's mistake, not a server error: it reads as empty.
    body = {};
  }
  const fields: Record<string, string> = {};
  for (const key of [...FIELDS, 'limit']) {
    const value = body[key];
    if (typeof value === 'string') fields[key] = value;
  }
  return fields;
}

/** Registers the failures page and its redrive form target. Register after the auth middleware. */
export function registerFailureRoutes(app: Hono, config: FailureRoutesConfig): void {
  const { client, logout } = config;

  app.get(failuresPath(DASHBOARD_PATH), async (c) => {
    const root = dashboardRoot(c);
    const query = readFailuresQuery((key) => c.req.query(key));
    const flash = redriveFlash((key) => c.req.query(key));
    const filters = failureFilters(query);
    try {
      const [reasons, count] = await Promise.all([
        client.failureReasons({ ...filters, limit: FAILURE_GROUPS_SHOWN }),
        client.redriveFailed({ ...filters, dryRun: true }),
      ]);
      const data = { reasons, matched: count.matched };
      return htmlPage(c, failuresPage({ root, logout, flash, query, data }));
    } catch (error) {
      if (!(error instanceof TaskValidationError)) throw error;
      return htmlPage(c, failuresPage({ root, logout, flash, query, data: null, error: error.message }), 400);
    }
  });

  app.post(
    `${failuresPath(DASHBOARD_PATH)}/redrive`,
    bodyLimit({
      maxSize: MAX_FORM_BYTES,
      onError: (c) => refused(c, logout, 'The form is too large.', 413),
    }),
    async (c) => {
      const fields = await formFields(c);
      const query = readFailuresQuery((key) => fields[key]);
      const rawLimit = fields.limit ?? '';
      // A number field sends digits; anything else goes to the client as is, to be refused.
      const limit = /^\d{1,9}$/.test(rawLimit) ? Number(rawLimit) : rawLimit === '' ? undefined : rawLimit;
      const back = (params: Record<string, string>) =>
        redirect(c, withQuery(failuresPath(dashboardRoot(c)), { ...query, ...params }));
      try {
        const result = await client.redriveFailed({ ...failureFilters(query), limit: limit as number });
        return back({
          flash: 'redriven',
          redriven: String(result.redriven),
          skipped: String(result.skipped),
        });
      } catch (error) {
        if (error instanceof TaskValidationError) return refused(c, logout, error.message, 400);
        if (error instanceof TaskWorkerError && error.code === 'UNIQUE_KEY_CONFLICT') {
          return back({ flash: 'redrive-conflict' });
        }
        throw error;
      }
    },
  );
}

function refused(c: Context, logout: boolean, message: string, status: 400 | 413): Response {
  const root = dashboardRoot(c);
  const page = messagePage({ root, title: 'Nothing was retried', message, logout });
  return htmlPage(c, page, status);
}

/**
 * URLs of the dashboard's pages. Built from the request, so links, redirects and the cookie's
 * `Path` stay right when the app is mounted under a prefix (`app.route('/api', createApp(...))`).
 * @module
 */
import type { Context } from 'hono';
import { basePath } from 'hono/route';

/** The dashboard's path below the app's own root. */
export const DASHBOARD_PATH = '/dashboard';

/** The overview's absolute path for this request, e.g. `/dashboard` or `/api/dashboard`. */
export function dashboardRoot(c: Context): string {
  return `${basePath(c).replace(/\/+$/, '')}${DASHBOARD_PATH}`;
}

/** Query-string parameters; `undefined`, `null` and empty values are left out. */
export type QueryParams = Record<string, string | null | undefined>;

/** `path` with the non-empty `params` as a query string. */
export function withQuery(path: string, params: QueryParams): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') query.set(key, value);
  }
  const text = query.toString();
  return text === '' ? path : `${path}?${text}`;
}

/** The page of one task. Ids are URL-safe already; encoding still guards a bad one in a link. */
export function taskPath(root: string, id: string): string {
  return `${root}/tasks/${encodeURIComponent(id)}`;
}

/** The schedules page. */
export function schedulesPath(root: string): string {
  return `${root}/schedules`;
}

/** One schedule's action path prefix. Names are URL-safe already; encoding still guards a bad one. */
export function schedulePath(root: string, name: string): string {
  return `${schedulesPath(root)}/${encodeURIComponent(name)}`;
}

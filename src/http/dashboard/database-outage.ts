/**
 * The dashboard's answer while the database cannot be reached: an HTML 503 page with
 * `Retry-After`, instead of the API's JSON body a browser would show as text.
 * @module
 */
import type { MiddlewareHandler } from 'hono';
import { isDatabaseUnavailable } from '../database-unavailable.ts';
import { DATABASE_RETRY_AFTER_SECONDS } from '../error-response.ts';
import { dashboardRoot } from './dashboard-paths.ts';
import { htmlPage } from './layout.ts';
import { databaseUnavailablePage } from './pages/message-page.ts';

/**
 * Middleware for every dashboard route; register it before them. The app's `onError` has
 * already logged the error and answered 503 JSON (Hono catches a handler's error at that
 * handler and records it in `c.error`); this replaces the body with the page.
 */
export function databaseOutagePage(logout: boolean): MiddlewareHandler {
  return async (c, next) => {
    await next();
    if (!isDatabaseUnavailable(c.error)) return;
    // Headers set on the JSON answer (Retry-After among them) carry over; its body does not.
    c.header('Retry-After', String(DATABASE_RETRY_AFTER_SECONDS));
    c.res = htmlPage(c, databaseUnavailablePage(dashboardRoot(c), logout), 503);
  };
}

/**
 * The dashboard's schedule changes, `POST /dashboard/schedules/:name/pause`, `.../resume` and
 * `.../delete` (a form cannot send DELETE). They go through the client's `schedules`, like the
 * JSON API's, then redirect (303) back to the schedules page with a flash code. The session,
 * the origin check and the cookie's SameSite guard them as they guard the task actions.
 * @module
 */
import type { Hono } from 'hono';
import { ScheduleNotFoundError } from '../../core/errors.ts';
import type { ScheduleClient } from '../../core/service/schedule-client.ts';
import { DASHBOARD_PATH, dashboardRoot, schedulesPath, withQuery } from './dashboard-paths.ts';
import type { FlashCode } from './flash.ts';
import { htmlPage, redirect } from './layout.ts';
import { scheduleNotFoundPage } from './pages/schedules-page.ts';

/** What {@link registerScheduleActions} needs. */
export interface ScheduleActionsConfig {
  schedules: ScheduleClient;
  /** Show the log-out button on pages (false for an open dashboard). */
  logout: boolean;
}

/** Registers the pause, resume and delete form targets on `app`. Register after the auth middleware. */
export function registerScheduleActions(app: Hono, config: ScheduleActionsConfig): void {
  const { schedules } = config;

  function action(verb: string, flash: FlashCode, run: (name: string) => Promise<unknown>): void {
    app.post(`${DASHBOARD_PATH}/schedules/:name/${verb}`, async (c) => {
      const name = c.req.param('name');
      const root = dashboardRoot(c);
      try {
        await run(name);
      } catch (error) {
        // Unknown, or deleted in another tab meanwhile: a 404 page that says which.
        if (error instanceof ScheduleNotFoundError) {
          return htmlPage(c, scheduleNotFoundPage(root, name, config.logout), 404);
        }
        throw error;
      }
      return redirect(c, withQuery(schedulesPath(root), { flash }));
    });
  }

  action('pause', 'schedule-paused', (name) => schedules.pause(name));
  action('resume', 'schedule-resumed', (name) => schedules.resume(name));
  action('delete', 'schedule-deleted', (name) => schedules.delete(name));
}

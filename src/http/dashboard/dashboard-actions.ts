/**
 * The dashboard's two changes, `POST /dashboard/tasks/:id/cancel` and `.../retry`. They go
 * through the client, like the JSON API's, so workers and waiters get the same notifications;
 * then they redirect (303) back to the task page with a flash code.
 * @module
 */
import type { Context, Hono } from 'hono';
import type { TaskClient } from '../../core/service/task-client.ts';
import { TaskNotFoundError, TaskWorkerError } from '../../core/errors.ts';
import { isTaskId } from '../../core/task-id.ts';
import { isFinalStatus } from '../../core/task.ts';
import { DASHBOARD_PATH, dashboardRoot, taskPath, withQuery } from './dashboard-paths.ts';
import type { FlashCode } from './flash.ts';
import { htmlPage, redirect } from './layout.ts';
import { taskNotFoundPage } from './pages/message-page.ts';

/** What {@link registerDashboardActions} needs. */
export interface DashboardActionsConfig {
  client: TaskClient;
  /** Show the log-out button on pages (false for an open dashboard). */
  logout: boolean;
}

// The retry errors a person can act on; anything else is an outage and goes to onError.
const RETRY_FLASHES: Partial<Record<string, FlashCode>> = {
  TASK_NOT_FINAL: 'retry-not-final',
  UNIQUE_KEY_CONFLICT: 'retry-unique-key',
};

/** Registers the cancel and retry form targets on `app`. Register after the auth middleware. */
export function registerDashboardActions(app: Hono, config: DashboardActionsConfig): void {
  const { client } = config;

  function back(c: Context, id: string, flash: FlashCode): Response {
    return redirect(c, withQuery(taskPath(dashboardRoot(c), id), { flash }));
  }

  function notFound(c: Context, id: string): Response {
    return htmlPage(c, taskNotFoundPage(dashboardRoot(c), id, config.logout), 404);
  }

  app.post(`${DASHBOARD_PATH}/tasks/:id/cancel`, async (c) => {
    const id = c.req.param('id');
    // Read first to tell "cancelled now" from "had already finished": cancelTask returns the
    // task either way, and the page should not claim a cancel that did not happen.
    const before = isTaskId(id) ? await client.getTask(id) : null;
    if (!before) return notFound(c, id);
    if (isFinalStatus(before.status)) return back(c, id, 'cancel-final');
    try {
      const after = await client.cancelTask(id);
      return back(c, id, after.status === 'CANCELLED' ? 'cancelled' : 'cancel-final');
    } catch (error) {
      // Deleted in between (retention): the same answer as an unknown id.
      if (error instanceof TaskNotFoundError) return notFound(c, id);
      throw error;
    }
  });

  app.post(`${DASHBOARD_PATH}/tasks/:id/retry`, async (c) => {
    const id = c.req.param('id');
    if (!isTaskId(id)) return notFound(c, id);
    try {
      await client.retryTask(id);
      return back(c, id, 'retried');
    } catch (error) {
      if (error instanceof TaskNotFoundError) return notFound(c, id);
      const flash = error instanceof TaskWorkerError ? RETRY_FLASHES[error.code] : undefined;
      if (flash) return back(c, id, flash);
      throw error;
    }
  });
}

/**
 * `GET /healthz`: for load balancers and uptime checks. Open (no token), and says nothing
 * about the server beyond "up, and the database answers".
 * @module
 */
import type { Hono } from 'hono';
import type { Database } from '../core/database.ts';
import type { TaskQueryStatements } from '../core/sql/task-query-statements.ts';
import { databaseUnavailable, errorJson, safeLog, type ErrorLogger } from './error-response.ts';

/** Registers `GET /healthz` on `app`. Register it before the auth middleware to keep it open. */
export function registerHealthRoutes(
  app: Hono,
  config: { database: Database; statements: TaskQueryStatements; log: ErrorLogger },
): void {
  app.get('/healthz', async (c) => {
    c.header('Cache-Control', 'no-store');
    try {
      await config.database.query(config.statements.databasePing);
    } catch (error) {
      // Whatever went wrong, the checker only needs "not healthy"; the details go to the log.
      safeLog(config.log, error, c.req.raw);
      return errorJson(c, databaseUnavailable('The database did not answer.'));
    }
    return c.json({ ok: true });
  });
}

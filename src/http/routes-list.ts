/**
 * `GET /tasks`: newest first, filtered, in pages with an opaque keyset cursor.
 * @module
 */
import type { Hono } from 'hono';
import type { Database } from '../core/database.ts';
import type { TaskQueryStatements } from '../core/sql/task-query-statements.ts';
import { TASK_STATUSES, taskFromRow, type TaskStatus } from '../core/task.ts';
import { TASK_LIMITS, validateTaskName } from '../core/validate-task.ts';
import { HttpError } from './error-response.ts';
import { decodeCursor, encodeCursor } from './list-cursor.ts';
import { taskToJson, type TaskJson } from './task-json.ts';

/** Page size when `limit` is not given. */
export const DEFAULT_LIST_LIMIT = 50;
/** Largest page a request may ask for. */
export const MAX_LIST_LIMIT = 500;

/** The body of `GET /tasks`. */
export interface TaskListJson {
  tasks: TaskJson[];
  /** Pass as `cursor` for the next page; `null` on the last page. */
  nextCursor: string | null;
}

interface ListFilters {
  status: TaskStatus | null;
  name: string | null;
  queue: string | null;
  /** Id of the last task of the previous page. */
  after: string | null;
  limit: number;
}

function parseStatus(raw: string): TaskStatus {
  if (!(TASK_STATUSES as readonly string[]).includes(raw)) {
    throw new HttpError(
      400,
      'INVALID_STATUS',
      `status must be one of ${TASK_STATUSES.join(', ')}, got ${JSON.stringify(raw.slice(0, 50))}.`,
      { field: 'status' },
    );
  }
  return raw as TaskStatus;
}

function parseQueue(raw: string): string {
  // Postgres text cannot hold NUL: sent as a parameter it is an error, i.e. a 500.
  if (raw.length > TASK_LIMITS.queueLength || raw.includes('\u0000')) {
    throw new HttpError(
      400,
      'INVALID_QUEUE',
      `queue must be 1 to ${TASK_LIMITS.queueLength} characters without NUL.`,
      { field: 'queue' },
    );
  }
  return raw;
}

function parseLimit(raw: string): number {
  const limit = /^\d{1,4}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_LIST_LIMIT)) {
    throw new HttpError(
      400,
      'INVALID_LIMIT',
      `limit must be an integer from 1 to ${MAX_LIST_LIMIT}, got ${JSON.stringify(raw.slice(0, 50))}.`,
      { field: 'limit' },
    );
  }
  return limit;
}

/**
 * Reads the query string. An empty parameter counts as absent, so an HTML form with an
 * empty select box lists everything rather than failing.
 */
function parseFilters(query: (key: string) => string | undefined): ListFilters {
  const param = (key: string): string | null => {
    const value = query(key);
    return value === undefined || value === '' ? null : value;
  };
  const status = param('status');
  const name = param('name');
  const queue = param('queue');
  const cursor = param('cursor');
  const limit = param('limit');
  return {
    status: status === null ? null : parseStatus(status),
    name: name === null ? null : validateTaskName(name),
    queue: queue === null ? null : parseQueue(queue),
    after: cursor === null ? null : decodeCursor(cursor),
    limit: limit === null ? DEFAULT_LIST_LIMIT : parseLimit(limit),
  };
}

/** Registers `GET /tasks` on `app`. */
export function registerListRoutes(
  app: Hono,
  config: { database: Database; statements: TaskQueryStatements },
): void {
  app.get('/tasks', async (c) => {
    const filters = parseFilters((key) => c.req.query(key));
    // One row more than the page tells whether another page exists without a count query.
    const { rows } = await config.database.query(config.statements.taskList, [
      filters.status,
      filters.name,
      filters.queue,
      filters.after,
      filters.limit + 1,
    ]);
    const page = rows.slice(0, filters.limit);
    const last = page.at(-1);
    const body: TaskListJson = {
      tasks: page.map((row) => taskToJson(taskFromRow(row))),
      nextCursor: rows.length > filters.limit && last ? encodeCursor(last.id as string) : null,
    };
    return c.json(body);
  });
}

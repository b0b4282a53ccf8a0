/**
 * What the overview shows, read from the database: counts per queue and status with recent
 * throughput (`taskStats`), and one page of the newest tasks (`taskList`), with the filters of
 * the page's GET form checked first.
 * @module
 */
import type { Database } from '../../core/database.ts';
import { TaskValidationError } from '../../core/errors.ts';
import type { TaskQueryStatements } from '../../core/sql/task-query-statements.ts';
import { TASK_STATUSES, taskFromRow, type Task, type TaskStatus } from '../../core/task.ts';
import { TASK_LIMITS, validateTaskName } from '../../core/validate-task.ts';
import { HttpError } from '../error-response.ts';
import { decodeCursor, encodeCursor } from '../list-cursor.ts';
import type { StatusCounts } from '../routes-stats.ts';

/** Tasks per overview page. */
export const OVERVIEW_PAGE_SIZE = 50;

/** The overview's query string as typed; empty strings for absent fields. */
export interface OverviewQuery {
  status: string;
  name: string;
  queue: string;
  cursor: string;
}

/** Checked filters; `null` means "any" (or the first page, for `after`). */
export interface OverviewFilters {
  status: TaskStatus | null;
  name: string | null;
  queue: string | null;
  /** Id of the last task of the previous page. */
  after: string | null;
}

/**
 * Reads the overview's parameters; an empty form field counts as absent. Nothing is trimmed:
 * a queue name may begin or end with a space.
 */
export function readOverviewQuery(query: (key: string) => string | undefined): OverviewQuery {
  const field = (key: string): string => query(key) ?? '';
  return { status: field('status'), name: field('name'), queue: field('queue'), cursor: field('cursor') };
}

/** The filters of `query`, or a sentence saying which field is wrong and why. */
export function parseOverviewFilters(query: OverviewQuery): { filters: OverviewFilters } | { error: string } {
  if (query.status !== '' && !(TASK_STATUSES as readonly string[]).includes(query.status)) {
    return { error: `Status must be one of ${TASK_STATUSES.join(', ')}.` };
  }
  // Postgres text cannot hold NUL: as a parameter it would be a server error, not "no rows".
  if (query.queue.length > TASK_LIMITS.queueLength || query.queue.includes('\u0000')) {
    return { error: `Queue must be at most ${TASK_LIMITS.queueLength} characters.` };
  }
  let name: string | null = null;
  let after: string | null = null;
  try {
    if (query.name !== '') name = validateTaskName(query.name);
    if (query.cursor !== '') after = decodeCursor(query.cursor);
  } catch (error) {
    if (error instanceof TaskValidationError || error instanceof HttpError) return { error: error.message };
    throw error;
  }
  const status = query.status === '' ? null : (query.status as TaskStatus);
  return { filters: { status, name, queue: query.queue === '' ? null : query.queue, after } };
}

/** Finished tasks in the recent windows, by `finished_at` on the database clock. */
export interface RecentCounts {
  lastMinute: number;
  last5Minutes: number;
  lastHour: number;
}

/** The final statuses throughput is counted for. */
export const THROUGHPUT_STATUSES = ['COMPLETED', 'FAILED', 'CANCELLED'] as const;
type FinalStatus = (typeof THROUGHPUT_STATUSES)[number];

/** Counts for the overview. */
export interface OverviewStats {
  /** One entry per queue that has tasks, by queue name. */
  queues: Array<{ queue: string; counts: StatusCounts; total: number }>;
  totals: StatusCounts;
  total: number;
  recent: Record<FinalStatus, RecentCounts>;
}

function zeroCounts(): StatusCounts {
  return Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])) as StatusCounts;
}

/** Reads the counts with one `taskStats` query. */
export async function loadOverviewStats(
  database: Database,
  statements: TaskQueryStatements,
): Promise<OverviewStats> {
  const { rows } = await database.query(statements.taskStats);
  // A Map, not an object: queue names are user input and `__proto__` is a valid one.
  const queues = new Map<string, StatusCounts>();
  const totals = zeroCounts();
  const zero = (): RecentCounts => ({ lastMinute: 0, last5Minutes: 0, lastHour: 0 });
  const recent: Record<FinalStatus, RecentCounts> = { COMPLETED: zero(), FAILED: zero(), CANCELLED: zero() };
  for (const row of rows) {
    const queue = row.queue as string;
    const status = row.status as TaskStatus;
    // int8 arrives as a string (the driver contract); counts stay far below 2^53.
    const count = Number(row.count);
    let counts = queues.get(queue);
    if (!counts) queues.set(queue, (counts = zeroCounts()));
    counts[status] = count;
    totals[status] += count;
    if ((THROUGHPUT_STATUSES as readonly string[]).includes(status)) {
      const windows = recent[status as FinalStatus];
      windows.lastMinute += Number(row.last_1m);
      windows.last5Minutes += Number(row.last_5m);
      windows.lastHour += Number(row.last_60m);
    }
  }
  const sum = (counts: StatusCounts): number => TASK_STATUSES.reduce((n, status) => n + counts[status], 0);
  return {
    queues: [...queues].map(([queue, counts]) => ({ queue, counts, total: sum(counts) })),
    totals,
    total: sum(totals),
    recent,
  };
}

/** One page of the task list. */
export interface TaskPage {
  tasks: Task[];
  /** The `cursor` parameter of the next page; `null` on the last one. */
  nextCursor: string | null;
}

/** Reads one page of the newest tasks matching `filters` with one `taskList` query. */
export async function loadTaskPage(
  database: Database,
  statements: TaskQueryStatements,
  filters: OverviewFilters,
): Promise<TaskPage> {
  // One row more than the page tells whether another page exists without a count query.
  const { rows } = await database.query(statements.taskList, [
    filters.status,
    filters.name,
    filters.queue,
    filters.after,
    OVERVIEW_PAGE_SIZE + 1,
  ]);
  const tasks = rows.slice(0, OVERVIEW_PAGE_SIZE).map(taskFromRow);
  const last = tasks.at(-1);
  return {
    tasks,
    nextCursor: rows.length > OVERVIEW_PAGE_SIZE && last ? encodeCursor(last.id) : null,
  };
}

/**
 * What the overview and the task page show, read once for the page itself and again for each
 * live update: the data (overview-data.ts, chart-data.ts, the client) and, for the live-update
 * script, a snapshot of the changing fragments rendered by the pages' own functions, so the
 * page and its updates cannot drift apart.
 * @module
 */
import type { Database } from '../../core/database.ts';
import type { TaskClient } from '../../core/service/task-client.ts';
import type { QueueLimits } from '../../core/service/queue-limits.ts';
import type { TaskQueryStatements } from '../../core/sql/task-query-statements.ts';
import { isFinalStatus, type Task } from '../../core/task.ts';
import type { DepthSampler, Throughput } from './chart-data.ts';
import { html } from './html.ts';
import {
  loadOverviewStats,
  loadTaskPage,
  parseOverviewFilters,
  type OverviewQuery,
  type OverviewStats,
  type TaskPage,
} from './overview-data.ts';
import type { OverviewCharts } from './pages/overview-charts.ts';
import { chartsFragment } from './pages/overview-charts.ts';
import { cardsFragment, countsFragment, tasksFragment } from './pages/overview-page.ts';
import { taskFragment } from './pages/task-page.ts';

/** What the dashboard reads with. */
export interface DashboardSources {
  client: TaskClient;
  database: Database;
  statements: TaskQueryStatements;
  /** The last hour's throughput, cached (chart-data.ts). */
  throughput: () => Promise<Throughput>;
  depth: DepthSampler;
}

/** Everything the overview shows. */
export interface OverviewData {
  stats: OverviewStats;
  /** The tasks, or `null` with `error` when the filters were refused. */
  page: TaskPage | null;
  error?: string;
  limits: QueueLimits[];
  charts: OverviewCharts;
  at: Date;
}

/** What the live-update script receives: fragments by element id, and whether to look again soon. */
export interface LiveSnapshot {
  /** When it was read, ISO 8601. */
  at: string;
  /** Something is pending or running, so the page will change without an event: poll sooner. */
  busy: boolean;
  fragments: Record<string, string>;
}

/**
 * Reads the overview for `query` (filters checked first; `page` is null with `error` for bad
 * ones, and null without reading when `withTasks` is false), and samples the queue depth.
 */
export async function loadOverview(
  sources: DashboardSources,
  query: OverviewQuery,
  withTasks = true,
): Promise<OverviewData> {
  const { database, statements } = sources;
  const parsed = parseOverviewFilters(query);
  const [stats, page, limits, throughput] = await Promise.all([
    loadOverviewStats(database, statements),
    'filters' in parsed && withTasks ? loadTaskPage(database, statements, parsed.filters) : null,
    sources.client.listQueueLimits(),
    sources.throughput(),
  ]);
  const at = new Date();
  sources.depth.record(stats.totals.PENDING, stats.totals.PROGRESS, at.getTime());
  const charts = { throughput, depth: sources.depth.history(at.getTime()) };
  return { stats, page, limits, charts, at, ...('error' in parsed ? { error: parsed.error } : {}) };
}

/**
 * The overview's fragments. The task list is left out past the first page: new tasks would
 * shift a later page under its reader, whose cursor asks for what came after a given task.
 */
export function overviewSnapshot(root: string, query: OverviewQuery, data: OverviewData): LiveSnapshot {
  const fragments: Record<string, string> = {
    'live-cards': cardsFragment(data.stats).toString(),
    'live-charts': chartsFragment(data.charts).toString(),
    'live-counts': countsFragment(root, data.stats, data.limits).toString(),
  };
  if (query.cursor === '') fragments['live-tasks'] = tasksFragment({ root, query, ...data }).toString();
  const { PENDING, PROGRESS } = data.stats.totals;
  return { at: data.at.toISOString(), busy: PENDING + PROGRESS > 0, fragments };
}

/** The task page's fragment; `null` (deleted meanwhile, by retention say) says so in its place. */
export function taskSnapshot(root: string, task: Task | null, at: Date = new Date()): LiveSnapshot {
  const fragment =
    task === null
      ? html`<div id="live-task"><p class="flash flash-error">This task no longer exists.</p></div>`
      : taskFragment(root, task);
  return {
    at: at.toISOString(),
    busy: task !== null && !isFinalStatus(task.status),
    fragments: { 'live-task': fragment.toString() },
  };
}

/**
 * The overview: recent throughput, charts, counts and flow-control limits per queue, and the
 * newest tasks with a filter form and keyset paging. The parts that change are fragments with
 * ids (`live-cards`, `live-charts`, `live-counts`, `live-tasks`) that the live-update script
 * replaces; live-views.ts renders the same functions for it.
 * @module
 */
import type { QueueLimits } from '../../../core/service/queue-limits.ts';
import { TASK_STATUSES, type Task } from '../../../core/task.ts';
import { taskPath, withQuery } from '../dashboard-paths.ts';
import type { Flash } from '../flash.ts';
import { breakable, isoSeconds, statusBadge } from '../format.ts';
import { html, type SafeHtml } from '../html.ts';
import { layout, liveStatus, type LiveLinks } from '../layout.ts';
import {
  OVERVIEW_PAGE_SIZE,
  THROUGHPUT_STATUSES,
  type OverviewQuery,
  type OverviewStats,
  type TaskPage,
} from '../overview-data.ts';
import { chartsFragment, type OverviewCharts } from './overview-charts.ts';

/** What {@link overviewPage} shows. */
export interface OverviewPageOptions {
  root: string;
  logout: boolean;
  flash?: Flash | null;
  /** The filters as typed, to fill the form in again. */
  query: OverviewQuery;
  stats: OverviewStats;
  /** The tasks, or `null` with `error` when the filters were refused. */
  page: TaskPage | null;
  error?: string;
  /** Every queue's flow-control limits. */
  limits: readonly QueueLimits[];
  charts: OverviewCharts;
  /** When the data was read. */
  at: Date;
  /** Where the script reads updates; `null` for a page that does not update. */
  live: LiveLinks | null;
}

/** `5 s`, `1.5 s`, `2 min`, `1 h`. */
function period(seconds: number): string {
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

function limitsCell(limits: QueueLimits | undefined): SafeHtml {
  if (!limits) return html`<td class="none">none</td>`;
  const parts: string[] = [];
  if (limits.concurrency !== null) parts.push(`≤ ${limits.concurrency} running`);
  if (limits.rate !== null)
    parts.push(`≤ ${limits.rate.limit} starts / ${period(limits.rate.periodSeconds)}`);
  return html`<td class="limits">${parts.join(' · ')}</td>`;
}

/** The counts per queue with their limits, as the `live-counts` fragment. */
export function countsFragment(root: string, stats: OverviewStats, limits: readonly QueueLimits[]): SafeHtml {
  // Each count links to the list filtered to it: the quickest way from "3 FAILED" to the three.
  const cell = (count: number, queue: string | null, status: string | null): SafeHtml =>
    count === 0
      ? html`<td class="num none">0</td>`
      : html`<td class="num"><a href="${withQuery(root, { queue, status })}">${count}</a></td>`;
  // A Map: queue names are user input, and `__proto__` is a valid one.
  const limitsOf = new Map(limits.map((entry) => [entry.queue, entry]));
  const zero = Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])) as OverviewStats['totals'];
  // Limited queues without tasks are listed too: a limit is worth seeing before its first task.
  const known = new Set(stats.queues.map(({ queue }) => queue));
  const queues = [
    ...stats.queues,
    ...limits
      .filter(({ queue }) => !known.has(queue))
      .map(({ queue }) => ({ queue, counts: zero, total: 0 })),
  ].sort((a, b) => (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0));
  const rows = queues.map(
    ({ queue, counts, total }) =>
      html`<tr>
        <td class="wrap"><a href="${withQuery(root, { queue })}">${queue}</a></td>
        ${limitsCell(limitsOf.get(queue))}
        ${TASK_STATUSES.map((status) => cell(counts[status], queue, status))} ${cell(total, queue, null)}
      </tr>`,
  );
  return html`<div id="live-counts">
    <h2>Tasks per queue</h2>
    <div class="scroll">
      <table class="counts">
        <thead>
          <tr>
            <th>Queue</th>
            <th>Limits</th>
            ${TASK_STATUSES.map((status) => html`<th class="num">${status}</th>`)}
            <th class="num">Total</th>
          </tr>
        </thead>
        <tbody>
          ${
            rows.length === 0
              ? html`<tr>
                  <td colspan="${TASK_STATUSES.length + 3}" class="none">No tasks yet.</td>
                </tr>`
              : rows
          }
          <tr class="total">
            <td>All queues</td>
            <td></td>
            ${TASK_STATUSES.map((status) => cell(stats.totals[status], null, status))}${cell(stats.total, null, null)}
          </tr>
        </tbody>
      </table>
    </div>
  </div>`;
}

/** The "finished recently" cards, as the `live-cards` fragment. */
export function cardsFragment(stats: OverviewStats): SafeHtml {
  const cards = THROUGHPUT_STATUSES.map((status) => {
    const recent = stats.recent[status];
    return html`<div class="card">
      ${statusBadge(status)} <b>${recent.lastMinute}</b><span>last minute</span>
      <div class="mono">${recent.last5Minutes} in 5 min · ${recent.lastHour} in 60 min</div>
    </div>`;
  });
  return html`<div id="live-cards" class="cards">${cards}</div>`;
}

function filterForm(root: string, query: OverviewQuery): SafeHtml {
  const options = TASK_STATUSES.map((status) =>
    query.status === status
      ? html`<option value="${status}" selected>${status}</option>`
      : html`<option value="${status}">${status}</option>`,
  );
  return html`<form class="filters" method="get" action="${root}">
    <label
      >Status
      <select name="status">
        <option value="">any</option>
        ${options}
      </select>
    </label>
    <label>Queue <input name="queue" value="${query.queue}" size="14" /></label>
    <label>Name <input name="name" value="${query.name}" size="28" placeholder="app.tasks.example" /></label>
    <button type="submit">Filter</button>
    <a href="${root}">Clear</a>
  </form>`;
}

function taskRow(root: string, task: Task): SafeHtml {
  const retries = task.maxRetries === null ? `${task.retryCount}` : `${task.retryCount}/${task.maxRetries}`;
  return html`<tr>
    <td class="wrap"><a href="${taskPath(root, task.id)}">${breakable(task.name)}</a></td>
    <td class="mono hide-narrow">${task.id}</td>
    <td>${statusBadge(task.status)}</td>
    <td class="hide-narrow">${task.queue}</td>
    <td class="num hide-narrow">${task.priority}</td>
    <td class="num hide-narrow">${retries}</td>
    <td>${isoSeconds(task.createdAt)}</td>
    <td class="hide-narrow">${isoSeconds(task.finishedAt)}</td>
  </tr>`;
}

/** The task list and its pager, as the `live-tasks` fragment. */
export function tasksFragment(
  options: Pick<OverviewPageOptions, 'root' | 'query' | 'page' | 'error'>,
): SafeHtml {
  const { root, query, page } = options;
  if (page === null) {
    return html`<div id="live-tasks">
      <p class="flash flash-error" role="alert">${options.error ?? ''}</p>
    </div>`;
  }
  const filters = { status: query.status, queue: query.queue, name: query.name };
  const next = page.nextCursor && withQuery(root, { ...filters, cursor: page.nextCursor });
  const rows = page.tasks.map((task) => taskRow(root, task));
  return html`<div id="live-tasks">
    <div class="scroll">
      <table class="tasks">
        <thead>
          <tr>
            <th>Name</th>
            <th class="hide-narrow">Id</th>
            <th>Status</th>
            <th class="hide-narrow">Queue</th>
            <th class="num hide-narrow">Priority</th>
            <th class="num hide-narrow">Retries</th>
            <th>Created (UTC)</th>
            <th class="hide-narrow">Finished (UTC)</th>
          </tr>
        </thead>
        <tbody>
          ${
            rows.length === 0
              ? html`<tr>
                  <td colspan="8" class="none">No tasks match.</td>
                </tr>`
              : rows
          }
        </tbody>
      </table>
    </div>
    <nav class="pager">
      ${query.cursor !== '' && html`<a href="${withQuery(root, filters)}">First page</a>`}
      ${next && html`<a href="${next}" rel="next">Next page</a>`}
    </nav>
  </div>`;
}

/** The overview page. */
export function overviewPage(options: OverviewPageOptions): SafeHtml {
  const { root, stats } = options;
  const body = html`<h1>Overview</h1>
    ${liveStatus(options.at)}
    <h2>Finished recently</h2>
    ${cardsFragment(stats)}
    <h2>Last hour</h2>
    ${chartsFragment(options.charts)} ${countsFragment(root, stats, options.limits)}
    <h2>Newest tasks <span class="none">(${OVERVIEW_PAGE_SIZE} per page)</span></h2>
    ${filterForm(root, options.query)} ${tasksFragment(options)}`;
  return layout({
    title: 'Overview',
    root,
    logout: options.logout,
    flash: options.flash ?? null,
    body,
    live: options.live,
  });
}

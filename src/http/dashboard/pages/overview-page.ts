/**
 * The overview: counts per queue and status, recent throughput, and the newest tasks with a
 * filter form and keyset paging.
 * @module
 */
import { TASK_STATUSES, type Task } from '../../../core/task.ts';
import { taskPath, withQuery } from '../dashboard-paths.ts';
import type { Flash } from '../flash.ts';
import { breakable, isoSeconds, statusBadge } from '../format.ts';
import { html, type SafeHtml } from '../html.ts';
import { layout } from '../layout.ts';
import {
  OVERVIEW_PAGE_SIZE,
  THROUGHPUT_STATUSES,
  type OverviewQuery,
  type OverviewStats,
  type TaskPage,
} from '../overview-data.ts';

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
}

function countsSection(root: string, stats: OverviewStats): SafeHtml {
  // Each count links to the list filtered to it: the quickest way from "3 FAILED" to the three.
  const cell = (count: number, queue: string | null, status: string | null): SafeHtml =>
    count === 0
      ? html`<td class="num none">0</td>`
      : html`<td class="num"><a href="${withQuery(root, { queue, status })}">${count}</a></td>`;
  const rows = stats.queues.map(
    ({ queue, counts, total }) =>
      html`<tr>
        <td class="wrap"><a href="${withQuery(root, { queue })}">${queue}</a></td>
        ${TASK_STATUSES.map((status) => cell(counts[status], queue, status))} ${cell(total, queue, null)}
      </tr>`,
  );
  return html`<h2>Tasks per queue</h2>
    <div class="scroll">
      <table class="counts">
        <thead>
          <tr>
            <th>Queue</th>
            ${TASK_STATUSES.map((status) => html`<th class="num">${status}</th>`)}
            <th class="num">Total</th>
          </tr>
        </thead>
        <tbody>
          ${
            rows.length === 0
              ? html`<tr>
                  <td colspan="${TASK_STATUSES.length + 2}" class="none">No tasks yet.</td>
                </tr>`
              : rows
          }
          <tr class="total">
            <td>All queues</td>
            ${TASK_STATUSES.map((status) => cell(stats.totals[status], null, status))}${cell(stats.total, null, null)}
          </tr>
        </tbody>
      </table>
    </div>`;
}

function throughputSection(stats: OverviewStats): SafeHtml {
  const cards = THROUGHPUT_STATUSES.map((status) => {
    const recent = stats.recent[status];
    return html`<div class="card">
      ${statusBadge(status)} <b>${recent.lastMinute}</b><span>last minute</span>
      <div class="mono">${recent.last5Minutes} in 5 min · ${recent.lastHour} in 60 min</div>
    </div>`;
  });
  return html`<h2>Finished recently</h2>
    <div class="cards">${cards}</div>`;
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

function tasksSection(options: OverviewPageOptions): SafeHtml {
  const { root, query, page } = options;
  if (page === null) return html`<p class="flash flash-error" role="alert">${options.error ?? ''}</p>`;
  const filters = { status: query.status, queue: query.queue, name: query.name };
  const next = page.nextCursor && withQuery(root, { ...filters, cursor: page.nextCursor });
  const rows = page.tasks.map((task) => taskRow(root, task));
  return html`<div class="scroll">
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
    </nav>`;
}

/** The overview page. */
export function overviewPage(options: OverviewPageOptions): SafeHtml {
  const body = html`<h1>Overview</h1>
    ${throughputSection(options.stats)} ${countsSection(options.root, options.stats)}
    <h2>Newest tasks <span class="none">(${OVERVIEW_PAGE_SIZE} per page)</span></h2>
    ${filterForm(options.root, options.query)} ${tasksSection(options)}`;
  return layout({
    title: 'Overview',
    root: options.root,
    logout: options.logout,
    flash: options.flash ?? null,
    body,
  });
}

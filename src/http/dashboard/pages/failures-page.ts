/**
 * The failures page: the `FAILED` tasks matching a filter, grouped by error type (count, last
 * seen, a sample message), with a GET filter form and a "Retry all matching" POST form (see
 * redrive-actions.ts). No script; every value escaped.
 * @module
 */
import { REDRIVE_LIMITS, type FailureReason } from '../../../core/service/redrive-failed.ts';
import { taskPath, withQuery } from '../dashboard-paths.ts';
import type { Flash } from '../flash.ts';
import { breakable, isoSeconds } from '../format.ts';
import { html, type SafeHtml } from '../html.ts';
import { layout } from '../layout.ts';

/** The failures page's filters as typed; empty strings for absent ones. */
export interface FailuresQuery {
  name: string;
  queue: string;
  errorType: string;
  from: string;
  to: string;
}

/** What {@link failuresPage} shows. */
export interface FailuresPageOptions {
  root: string;
  logout: boolean;
  flash?: Flash | null;
  /** The filters as typed, to fill the forms in again. */
  query: FailuresQuery;
  /** The groups and how many tasks match in all, or `null` with `error` for refused filters. */
  data: { reasons: readonly FailureReason[]; matched: number } | null;
  error?: string;
}

/** Groups shown, biggest first. */
export const FAILURE_GROUPS_SHOWN = 50;

/** The failures page's path. */
export function failuresPath(root: string): string {
  return `${root}/failures`;
}

/**
 * The message after a redrive, from the redirect's `flash`, `redriven` and `skipped`
 * parameters: only counts come from the URL, so a link can make the page show numbers, never
 * words; anything malformed shows nothing.
 */
export function redriveFlash(query: (key: string) => string | undefined): Flash | null {
  const count = (key: string): number | null => {
    const raw = query(key) ?? '0';
    return /^\d{1,7}$/.test(raw) ? Number(raw) : null;
  };
  const flash = query('flash');
  if (flash === 'redrive-conflict') {
    return { kind: 'error', text: 'New tasks kept taking the uniqueKeys of these tasks; try again.' };
  }
  const redriven = count('redriven');
  const skipped = count('skipped');
  if (flash !== 'redriven' || redriven === null || skipped === null) return null;
  const tasks = (n: number) => (n === 1 ? '1 task' : `${n} tasks`);
  let text = redriven === 0 ? 'No FAILED task was retried.' : `${tasks(redriven)} queued again.`;
  if (skipped > 0) {
    text += ` ${tasks(skipped)} skipped: another unfinished task holds their uniqueKey.`;
  }
  return { kind: redriven === 0 && skipped > 0 ? 'error' : 'success', text };
}

function filterForm(root: string, query: FailuresQuery): SafeHtml {
  return html`<form class="filters" method="get" action="${failuresPath(root)}">
    <label>Name <input name="name" value="${query.name}" size="24" placeholder="app.tasks.example" /></label>
    <label>Queue <input name="queue" value="${query.queue}" size="12" /></label>
    <label
      >Error type <input name="errorType" value="${query.errorType}" size="16" placeholder="TypeError"
    /></label>
    <label
      >Failed from (UTC) <input name="from" value="${query.from}" size="18" placeholder="2025-01-31T14:00"
    /></label>
    <label>to <input name="to" value="${query.to}" size="18" placeholder="2025-01-31T15:00" /></label>
    <button type="submit">Filter</button>
    <a href="${failuresPath(root)}">Clear</a>
  </form>`;
}

function errorTypeCell(root: string, query: FailuresQuery, reason: FailureReason): SafeHtml {
  if (reason.errorType === null) return html`<span class="none">(none)</span>`;
  const link = withQuery(failuresPath(root), { ...query, errorType: reason.errorType });
  return html`<a href="${link}">${breakable(reason.errorType)}</a>`;
}

function reasonRow(root: string, query: FailuresQuery, reason: FailureReason): SafeHtml {
  const sample =
    reason.sampleError === null
      ? html`<span class="none">—</span>`
      : html`<pre class="text">${reason.sampleError}</pre>`;
  return html`<tr>
    <td class="wrap">${errorTypeCell(root, query, reason)}</td>
    <td class="num">${reason.count}</td>
    <td>${isoSeconds(reason.lastSeenAt)}</td>
    <td class="wrap">
      ${sample} <small><a href="${taskPath(root, reason.sampleTaskId)}">sample task</a></small>
    </td>
  </tr>`;
}

function reasonsTable(root: string, query: FailuresQuery, reasons: readonly FailureReason[]): SafeHtml {
  if (reasons.length === 0) return html`<p class="none">No FAILED tasks match.</p>`;
  return html`<div class="scroll">
    <table class="failures">
      <thead>
        <tr>
          <th>Error type</th>
          <th class="num">Tasks</th>
          <th>Last seen (UTC)</th>
          <th>Sample message</th>
        </tr>
      </thead>
      <tbody>
        ${reasons.map((reason) => reasonRow(root, query, reason))}
      </tbody>
    </table>
  </div>`;
}

function redriveForm(root: string, query: FailuresQuery, matched: number): SafeHtml {
  if (matched === 0) return html``;
  const hidden = (Object.keys(query) as Array<keyof FailuresQuery>)
    .filter((key) => query[key] !== '')
    .map((key) => html`<input type="hidden" name="${key}" value="${query[key]}" />`);
  return html`<h2>Retry</h2>
    <form class="filters" method="post" action="${failuresPath(root)}/redrive">
      ${hidden}
      <label
        >At most
        <input
          type="number"
          name="limit"
          value="${Math.min(matched, REDRIVE_LIMITS.max)}"
          min="1"
          max="${REDRIVE_LIMITS.max}"
        />
      </label>
      <button type="submit" class="primary">Retry all matching (${matched})</button>
    </form>
    <p class="none">
      Moves them back to PENDING, oldest first, due now with a fresh retry budget, like Retry on a task page.
      A task whose uniqueKey an unfinished task holds is skipped.
    </p>`;
}

/** The failures page. */
export function failuresPage(options: FailuresPageOptions): SafeHtml {
  const { root, query, data } = options;
  const list = withQuery(root, { status: 'FAILED', name: query.name, queue: query.queue });
  const content =
    data === null
      ? html`<p class="flash flash-error" role="alert">${options.error ?? ''}</p>`
      : html`<p>
            <b>${data.matched}</b> FAILED ${data.matched === 1 ? 'task matches' : 'tasks match'} (<a
              href="${list}"
              >list them</a
            >).
          </p>
          ${reasonsTable(root, query, data.reasons)} ${redriveForm(root, query, data.matched)}`;
  const body = html`<h1>Failures</h1>
    ${filterForm(root, query)} ${content}
    <p class="none">
      Grouped by error type, the ${FAILURE_GROUPS_SHOWN} biggest groups first; the sample is the newest task
      of each. Times without an offset are UTC.
    </p>`;
  return layout({ title: 'Failures', root, logout: options.logout, flash: options.flash ?? null, body });
}

/**
 * The page of one task: every field, escaped, and the cancel or retry button that applies.
 * Everything below the back link is the `live-task` fragment, which the live-update script
 * replaces as the task changes (live-views.ts renders it for the script).
 * @module
 */
import { isFinalStatus, type Task } from '../../../core/task.ts';
import { taskPath } from '../dashboard-paths.ts';
import type { Flash } from '../flash.ts';
import { breakable, isoTime, jsonBlock, optionalText, seconds, statusBadge } from '../format.ts';
import { html, type HtmlValue, type SafeHtml } from '../html.ts';
import { layout, liveStatus, type LiveLinks } from '../layout.ts';

/** What {@link taskPage} shows. */
export interface TaskPageOptions {
  root: string;
  logout: boolean;
  flash?: Flash | null;
  task: Task;
  /** When the task was read. */
  at: Date;
  /** Where the script reads updates; `null` for a page that does not update. */
  live: LiveLinks | null;
}

function actions(root: string, task: Task): SafeHtml {
  const path = taskPath(root, task.id);
  // Only the action the state machine allows is offered; the server checks again anyway.
  if (isFinalStatus(task.status)) {
    return html`<div class="actions">
      <form method="post" action="${path}/retry"><button type="submit" class="primary">Retry</button></form>
    </div>`;
  }
  return html`<div class="actions">
    <form method="post" action="${path}/cancel"><button type="submit" class="danger">Cancel</button></form>
  </div>`;
}

function fields(entries: ReadonlyArray<readonly [string, HtmlValue]>): SafeHtml {
  return html`<dl class="fields">
    ${entries.map(
      ([label, value]) =>
        html`<dt>${label}</dt>
          <dd>${value}</dd>`,
    )}
  </dl>`;
}

function errorSection(task: Task): SafeHtml {
  if (task.error === null && task.errorType === null && task.errorStack === null) {
    return html`<h2>Error</h2>
      <p class="none">None.</p>`;
  }
  return html`<h2>Error</h2>
    ${fields([
      ['Type', optionalText(task.errorType)],
      ['Message', task.error === null ? optionalText(null) : html`<pre class="text">${task.error}</pre>`],
      [
        'Stack',
        task.errorStack === null ? optionalText(null) : html`<pre class="text">${task.errorStack}</pre>`,
      ],
    ])}`;
}

function historySection(task: Task): SafeHtml {
  if (task.errorHistory.length === 0)
    return html`<h2>Error history</h2>
      <p class="none">No failed attempts.</p>`;
  const rows = task.errorHistory.map(
    (entry) =>
      html`<tr>
        <td class="num">${entry.attempt}</td>
        <td>${entry.at}</td>
        <td>${optionalText(entry.type)}</td>
        <td class="wrap">${entry.message}</td>
      </tr>`,
  );
  return html`<h2>Error history</h2>
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th class="num">Attempt</th>
            <th>At (UTC)</th>
            <th>Type</th>
            <th>Message</th>
          </tr>
        </thead>
        <tbody>
          ${rows}
        </tbody>
      </table>
    </div>`;
}

/** Everything that changes with the task, as the `live-task` fragment. */
export function taskFragment(root: string, task: Task): SafeHtml {
  const retries =
    task.maxRetries === null
      ? `${task.retryCount} (worker default limit)`
      : `${task.retryCount} of ${task.maxRetries}`;
  return html`<div id="live-task">
    <h1>${breakable(task.name)} ${statusBadge(task.status)}</h1>
    ${actions(root, task)}
    ${fields([
      ['Id', html`<span class="mono">${task.id}</span>`],
      ['Status', statusBadge(task.status)],
      ['Queue', task.queue],
      ['Priority', task.priority],
      ['Timeout', task.timeout === null ? 'none' : seconds(task.timeout)],
      ['Retries', retries],
      ['Attempt', task.attempt],
      ['Worker', optionalText(task.workerId)],
      ['Unique key', optionalText(task.uniqueKey)],
      ['Duration', seconds(task.duration)],
    ])}
    <h2>Timeline (UTC)</h2>
    ${fields([
      ['Created', isoTime(task.createdAt)],
      ['Run at', isoTime(task.runAt)],
      ['Started', isoTime(task.startedAt)],
      ['Lease until', isoTime(task.leaseUntil)],
      ['Finished', isoTime(task.finishedAt)],
      ['Updated', isoTime(task.updatedAt)],
    ])}
    <h2>Arguments</h2>
    ${fields([
      ['args', jsonBlock(task.args)],
      ['kwargs', jsonBlock(task.kwargs)],
    ])}
    <h2>Result</h2>
    ${task.result === null ? html`<p class="none">None.</p>` : jsonBlock(task.result)}
    <h2>Progress</h2>
    ${task.progress === null ? html`<p class="none">None reported.</p>` : jsonBlock(task.progress)}
    ${errorSection(task)} ${historySection(task)}
  </div>`;
}

/** The task page. */
export function taskPage(options: TaskPageOptions): SafeHtml {
  const { root, task } = options;
  const body = html`<p><a href="${root}">← Overview</a></p>
    ${liveStatus(options.at)} ${taskFragment(root, task)}`;
  return layout({
    title: `${task.name} ${task.id}`,
    root,
    logout: options.logout,
    flash: options.flash ?? null,
    body,
    live: options.live,
  });
}

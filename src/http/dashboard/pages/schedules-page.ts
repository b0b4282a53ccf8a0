/**
 * The schedules page: every recurring schedule with its cron expression and time zone, the task
 * it creates, when it fires next and last fired, its last task's status, its counts, and the
 * Pause/Resume and Delete buttons (plain POST forms, see schedule-actions.ts).
 * @module
 */
import type { Schedule } from '../../../core/service/schedule-client.ts';
import { schedulePath, taskPath } from '../dashboard-paths.ts';
import type { Flash } from '../flash.ts';
import { breakable, isoSeconds, statusBadge } from '../format.ts';
import { html, type SafeHtml } from '../html.ts';
import { layout } from '../layout.ts';
import { messagePage } from './message-page.ts';

/** What {@link schedulesPage} shows. */
export interface SchedulesPageOptions {
  root: string;
  logout: boolean;
  flash?: Flash | null;
  schedules: readonly Schedule[];
  /** The clock relative times are measured from, in milliseconds since the epoch. */
  now: number;
}

/** Longest args/kwargs summary shown in the table; the rest is cut with an ellipsis. */
const ARGUMENTS_SHOWN = 120;

/** How far `date` is from `now`: `in 5 min`, `3 h ago`, `now`. */
export function relativeTime(date: Date, now: number): string {
  const difference = date.getTime() - now;
  const secondsAway = Math.floor(Math.abs(difference) / 1000);
  if (secondsAway === 0) return 'now';
  let amount: string;
  if (secondsAway < 60) amount = `${secondsAway} s`;
  else if (secondsAway < 3600) amount = `${Math.floor(secondsAway / 60)} min`;
  else if (secondsAway < 2 * 86_400) amount = `${Math.floor(secondsAway / 3600)} h`;
  else amount = `${Math.floor(secondsAway / 86_400)} d`;
  return difference > 0 ? `in ${amount}` : `${amount} ago`;
}

/** A time as relative text over its ISO UTC form; a dash for none. */
function when(date: Date | null, now: number, overdue = false): SafeHtml {
  if (date === null) return html`<span class="none">—</span>`;
  return html`${relativeTime(date, now)}${overdue && html` <span class="status status-failed">overdue</span>`}<br />
    <small>${isoSeconds(date)}</small>`;
}

function nextFire(schedule: Schedule, now: number): SafeHtml {
  if (schedule.paused) return html`<span class="none">paused</span>`;
  if (schedule.nextFireAt === null) return html`<span class="none">never again</span>`;
  // Later than its grace, the fire counts as missed: no executor has run the maintainer since.
  const overdue = now - schedule.nextFireAt.getTime() > schedule.misfireGraceSeconds * 1000;
  return when(schedule.nextFireAt, now, overdue);
}

function argumentsSummary(schedule: Schedule): SafeHtml | null {
  const parts: string[] = [];
  if (schedule.args.length > 0) parts.push(`args ${JSON.stringify(schedule.args)}`);
  if (Object.keys(schedule.kwargs).length > 0) parts.push(`kwargs ${JSON.stringify(schedule.kwargs)}`);
  if (parts.length === 0) return null;
  const text = parts.join(' ');
  const shown = text.length > ARGUMENTS_SHOWN ? `${text.slice(0, ARGUMENTS_SHOWN)}…` : text;
  return html`<br /><small class="mono">${shown}</small>`;
}

function lastTask(root: string, schedule: Schedule): SafeHtml {
  if (schedule.lastTaskId === null) return html`<span class="none">—</span>`;
  const label =
    schedule.lastTaskStatus === null
      ? html`<span class="none">deleted</span>`
      : statusBadge(schedule.lastTaskStatus);
  return html`<a href="${taskPath(root, schedule.lastTaskId)}">${label}</a>`;
}

function actions(root: string, schedule: Schedule): SafeHtml {
  const path = schedulePath(root, schedule.name);
  const toggle = schedule.paused
    ? html`<form method="post" action="${path}/resume">
        <button type="submit" class="primary">Resume</button>
      </form>`
    : html`<form method="post" action="${path}/pause"><button type="submit">Pause</button></form>`;
  return html`<div class="actions compact">
    ${toggle}
    <form method="post" action="${path}/delete"><button type="submit" class="danger">Delete</button></form>
  </div>`;
}

function scheduleRow(root: string, schedule: Schedule, now: number): SafeHtml {
  const state = schedule.paused
    ? html`<span class="status status-cancelled">paused</span>`
    : html`<span class="status status-completed">active</span>`;
  return html`<tr>
    <td class="wrap">
      ${breakable(schedule.name)}${schedule.source === 'code' && html` <small class="none">(code)</small>`}
    </td>
    <td><code>${schedule.cron}</code><br /><small class="none">${schedule.timezone}</small></td>
    <td class="wrap">
      ${breakable(schedule.task)}${argumentsSummary(schedule)}<br /><small class="none"
        >queue ${schedule.options.queue}</small
      >
    </td>
    <td>${nextFire(schedule, now)}</td>
    <td class="hide-narrow">${when(schedule.lastFireAt, now)}</td>
    <td>${lastTask(root, schedule)}</td>
    <td class="num hide-narrow">${schedule.firedCount}</td>
    <td class="num hide-narrow">${schedule.skippedCount}</td>
    <td>${state}</td>
    <td>${actions(root, schedule)}</td>
  </tr>`;
}

function schedulesTable(root: string, schedules: readonly Schedule[], now: number): SafeHtml {
  if (schedules.length === 0) {
    return html`<p class="none">
      No schedules yet. Declare them with <code>defineSchedules</code> in your tasks module, or create one
      with <code>POST /schedules</code>.
    </p>`;
  }
  return html`<div class="scroll">
    <table class="schedules">
      <thead>
        <tr>
          <th>Name</th>
          <th>Cron (time zone)</th>
          <th>Task</th>
          <th>Next fire</th>
          <th class="hide-narrow">Last fire</th>
          <th>Last task</th>
          <th class="num hide-narrow">Fired</th>
          <th class="num hide-narrow">Skipped</th>
          <th>State</th>
          <th>Actions</th>
        </tr>
      </thead>
      <tbody>
        ${schedules.map((schedule) => scheduleRow(root, schedule, now))}
      </tbody>
    </table>
  </div>`;
}

/** The schedules page. */
export function schedulesPage(options: SchedulesPageOptions): SafeHtml {
  const { root } = options;
  const body = html`<h1>Schedules</h1>
    ${schedulesTable(root, options.schedules, options.now)}
    <p class="none">
      Absolute times are UTC. A schedule marked (code) is declared in a tasks module: a worker that starts
      with it creates it again after a delete.
    </p>`;
  return layout({
    title: 'Schedules',
    root,
    logout: options.logout,
    flash: options.flash ?? null,
    body,
  });
}

/** The 404 page for a name that names no schedule. */
export function scheduleNotFoundPage(root: string, name: string, logout: boolean): SafeHtml {
  return messagePage({
    root,
    title: 'Schedule not found',
    message: `There is no schedule named ${JSON.stringify(name.slice(0, 100))}.`,
    logout,
  });
}

/**
 * How the dashboard shows values: times as ISO 8601 UTC, JSON pretty-printed, statuses as
 * coloured badges. Every function returns escaped markup.
 * @module
 */
import type { JsonValue, TaskStatus } from '../../core/task.ts';
import { html, type SafeHtml } from './html.ts';

/** A time as ISO 8601 UTC with milliseconds, in a `<time>` element; a dash for none. */
export function isoTime(date: Date | null): SafeHtml {
  if (date === null) return html`<span class="none">—</span>`;
  const iso = date.toISOString();
  return html`<time datetime="${iso}">${iso}</time>`;
}

/** A time as ISO 8601 UTC to the second, for tables where milliseconds are noise. */
export function isoSeconds(date: Date | null): SafeHtml {
  if (date === null) return html`<span class="none">—</span>`;
  const iso = date.toISOString();
  return html`<time datetime="${iso}">${iso.replace(/\.\d{3}Z$/, 'Z')}</time>`;
}

/** A status badge; the class picks its colour from the stylesheet. */
export function statusBadge(status: TaskStatus): SafeHtml {
  return html`<span class="status status-${status.toLowerCase()}">${status}</span>`;
}

/** A JSON value, indented, in a `<pre>` that scrolls instead of widening the page. */
export function jsonBlock(value: JsonValue | readonly unknown[] | null): SafeHtml {
  return html`<pre class="json">${JSON.stringify(value, null, 2) ?? 'null'}</pre>`;
}

/** Seconds with at most three decimals, e.g. `1.25 s`; a dash for none. */
export function seconds(value: number | null): SafeHtml {
  if (value === null) return html`<span class="none">—</span>`;
  return html`${Number(value.toFixed(3))} s`;
}

/** Text that may be absent, e.g. an error message; a dash for none. */
export function optionalText(value: string | number | null): SafeHtml {
  return value === null ? html`<span class="none">—</span>` : html`${value}`;
}

/**
 * Text with a line-break opportunity after each `.`, `_`, `/`, `:` and `-`, so a long task
 * name wraps as `app.tasks.` / `send_welcome_email` on a phone instead of letter by letter.
 */
export function breakable(text: string): SafeHtml {
  return html`${text.split(/(?<=[._/:-])/).map((part, i) => (i === 0 ? part : html`<wbr />${part}`))}`;
}

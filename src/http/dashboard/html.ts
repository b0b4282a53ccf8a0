/**
 * Escaped-by-default HTML templates for the dashboard. Every value interpolated into
 * {@link html} is escaped unless it is itself the output of `html`, so a page can only contain
 * markup that is spelled out in this folder's source.
 * @module
 */

/**
 * Markup that is safe to insert as is: only {@link html} makes one. An `instanceof` check on a
 * class this module owns is what marks it, not a property: a value decoded from JSON (task
 * kwargs, say) can carry any property, `isEscaped` included, but never this prototype. That is
 * why the dashboard does not use `hono/html`, which trusts any object with `isEscaped: true`.
 */
export class SafeHtml {
  readonly #markup: string;
  /** @internal Use {@link html}. */
  constructor(markup: string) {
    this.#markup = markup;
  }
  toString(): string {
    return this.#markup;
  }
}

/** What may be interpolated into {@link html}. `null`, `undefined` and `false` render nothing. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for an element body or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] as string);
}

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/**
 * Tagged template: `html\`<td>${task.name}</td>\`` escapes `task.name`. Arrays are rendered
 * item by item (for lists of rows); nested `html` results are inserted unescaped.
 */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let markup = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) markup += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(markup);
}

/**
 * The frame every dashboard page shares: one inline stylesheet (no external assets, so it
 * works offline and under a strict CSP), the header, the flash message, and the response
 * headers that keep the pages out of caches and frames. A page with live parts also loads the
 * one same-origin script (live-script.ts) and names, on `<body>`, where it reads updates from.
 * @module
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Flash } from './flash.ts';
import { html, type HtmlValue, type SafeHtml } from './html.ts';
import { CHART_STYLESHEET } from './chart-styles.ts';
import { LIVE_SCRIPT_FILE } from './live-script.ts';
import { STYLESHEET } from './stylesheet.ts';

/** Where a page's script reads the updates of its live parts from. */
export interface LiveLinks {
  /** The page's JSON snapshot, polled when there is no stream. */
  poll: string;
  /** The page's server-sent events, or `null` when the app has no notifier (the page polls). */
  stream: string | null;
}

/** What {@link layout} needs besides the page's own content. */
export interface LayoutOptions {
  /** The page's title, shown in the tab. */
  title: string;
  /** The dashboard's root path (links and the logout form hang off it). */
  root: string;
  /** Shown above the content. */
  flash?: Flash | null;
  /** Show the log-out button (false when the dashboard is open or on the login page). */
  logout: boolean;
  body: HtmlValue;
  /** The page's live parts update without a reload (absent: a static page, no script). */
  live?: LiveLinks | null;
}

/** A whole page: doctype, head with the stylesheet, header, flash and `body`. */
export function layout(options: LayoutOptions): SafeHtml {
  const { flash, live } = options;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>${options.title} · edge-task-worker</title>
        ${STYLESHEET} ${CHART_STYLESHEET}
        ${live && html`<script src="${options.root}/assets/${LIVE_SCRIPT_FILE}" defer></script>`}
      </head>
      <body ${live && html`data-live="${live.poll}" ${live.stream && html`data-stream="${live.stream}"`}`}>
        <header>
          <a href="${options.root}">edge-task-worker dashboard</a>
          <nav>
            <a href="${options.root}">Overview</a>
            <a href="${options.root}/schedules">Schedules</a>
            <a href="${options.root}/failures">Failures</a>
          </nav>
          ${options.logout && html`<form method="post" action="${options.root}/logout"><button type="submit">Log out</button></form>`}
        </header>
        <main>
          ${flash && html`<p class="flash flash-${flash.kind}" role="status">${flash.text}</p>`}
          ${options.body}
        </main>
      </body>
    </html> `;
}

/**
 * The line that says how current a live page is: without JavaScript, when it was rendered and
 * that a reload shows newer data; the script replaces the words with its state (live,
 * updating every few seconds, paused) and the time with that of the latest update.
 */
export function liveStatus(at: Date): SafeHtml {
  const iso = at.toISOString();
  return html`<p class="live-status">
    <span id="live-mode" data-state="static" aria-live="polite">Reload for newer data</span> · as of
    <time id="live-at" datetime="${iso}">${iso.slice(11, 19)}</time> UTC
  </p>`;
}

// Scripts only from files of this origin (the live-update script; never inline, so injected
// markup cannot run anything), requests only back to this origin (its events and snapshots),
// styles only from the inline sheet, forms only to this origin, and no framing: a framed page
// could trick a click on "Cancel".
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  // Task pages and cursors are in URLs; they should not leak to other sites.
  'Referrer-Policy': 'same-origin',
  // Pages show live state and sometimes a just-set cookie: never from a cache.
  'Cache-Control': 'no-store',
} as const;

/** Answers with `page` as HTML, with the dashboard's security headers. */
export function htmlPage(c: Context, page: SafeHtml, status: ContentfulStatusCode = 200): Response {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
  return c.html(page.toString(), status);
}

/** A 303 redirect (the answer to a form post) with the dashboard's headers. */
export function redirect(c: Context, location: string): Response {
  c.header('Cache-Control', 'no-store');
  return c.redirect(location, 303);
}

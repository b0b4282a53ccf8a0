/**
 * The dashboard's stylesheet, inline (with the charts' own, chart-styles.ts): no external
 * assets, so the pages work offline and under a CSP that allows nothing else. System fonts; readable from phone to laptop (tables
 * scroll sideways and drop minor columns on narrow screens); status colours meet WCAG AA.
 * @module
 */
import { html } from './html.ts';

// Written out in the template, not interpolated: interpolations are escaped, and `"` turned
// into `&quot;` would break CSS (the body of <style> is raw text).
/** The one stylesheet, as a `<style>` element. Status colours are `.status-<status>`. */
export const STYLESHEET = html`<style>
  :root {
    color-scheme: light;
    --fg: #1f2328;
    --muted: #59636e;
    --line: #d1d9e0;
    --soft: #f6f8fa;
    --accent: #0b57d0;
  }
  * {
    box-sizing: border-box;
  }
  body {
    margin: 0;
    font:
      15px/1.45 system-ui,
      -apple-system,
      'Segoe UI',
      Roboto,
      sans-serif;
    color: var(--fg);
    background: #fff;
  }
  header {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 0.5rem 1rem;
    padding: 0.6rem 1rem;
    background: #1f2328;
    color: #fff;
  }
  header a {
    color: #fff;
    font-weight: 600;
    text-decoration: none;
  }
  header nav {
    display: flex;
    gap: 0.8rem;
  }
  header nav a {
    font-weight: 400;
  }
  header form {
    margin-left: auto;
  }
  main {
    max-width: 80rem;
    margin: 0 auto;
    padding: 1rem;
  }
  h1 {
    font-size: 1.35rem;
    margin: 0.2rem 0 0.8rem;
    overflow-wrap: break-word;
  }
  h2 {
    font-size: 1.05rem;
    margin: 1.6rem 0 0.5rem;
  }
  a {
    color: var(--accent);
  }
  code,
  pre,
  .mono {
    font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
    font-size: 0.85rem;
  }
  .scroll {
    overflow-x: auto;
    -webkit-overflow-scrolling: touch;
  }
  table {
    border-collapse: collapse;
    width: 100%;
  }
  th,
  td {
    text-align: left;
    padding: 0.35rem 0.6rem;
    border-bottom: 1px solid var(--line);
    vertical-align: top;
    white-space: nowrap;
  }
  th {
    font-size: 0.8rem;
    text-transform: uppercase;
    letter-spacing: 0.03em;
    color: var(--muted);
    background: var(--soft);
  }
  td.num,
  th.num {
    text-align: right;
    font-variant-numeric: tabular-nums;
  }
  tr.total td {
    font-weight: 600;
  }
  td.wrap {
    white-space: normal;
    /* Not "anywhere": that shrinks the column to one letter on a phone. */
    overflow-wrap: break-word;
    min-width: 8rem;
  }
  .none {
    color: var(--muted);
  }
  .status {
    display: inline-block;
    padding: 0.05rem 0.45rem;
    border-radius: 0.7rem;
    font-size: 0.75rem;
    font-weight: 600;
    letter-spacing: 0.02em;
  }
  .status-pending {
    background: #eef1f5;
    color: #424a53;
  }
  .status-progress {
    background: #ddeaff;
    color: #0b4fb8;
  }
  .status-completed {
    background: #dcf5e3;
    color: #116329;
  }
  .status-failed {
    background: #ffe1de;
    color: #a40e26;
  }
  .status-cancelled {
    background: #f1e7d6;
    color: #7d4e00;
  }
  .flash {
    padding: 0.6rem 0.8rem;
    border-radius: 0.4rem;
    margin-bottom: 1rem;
  }
  .flash-success {
    background: #dcf5e3;
    color: #116329;
  }
  .flash-error {
    background: #ffe1de;
    color: #a40e26;
  }
  .cards {
    display: flex;
    flex-wrap: wrap;
    gap: 0.6rem;
  }
  .card {
    flex: 1 1 9rem;
    border: 1px solid var(--line);
    border-radius: 0.5rem;
    padding: 0.5rem 0.8rem;
  }
  .card b {
    display: block;
    font-size: 1.4rem;
    font-variant-numeric: tabular-nums;
  }
  .card span {
    color: var(--muted);
    font-size: 0.8rem;
  }
  form.filters {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    align-items: end;
    margin: 0.5rem 0 0.8rem;
  }
  label {
    display: flex;
    flex-direction: column;
    font-size: 0.8rem;
    color: var(--muted);
    gap: 0.15rem;
  }
  input,
  select,
  button {
    font: inherit;
    padding: 0.35rem 0.5rem;
    border: 1px solid var(--line);
    border-radius: 0.35rem;
    background: #fff;
    color: var(--fg);
  }
  button {
    cursor: pointer;
    background: var(--soft);
    font-weight: 600;
  }
  button.danger {
    background: #a40e26;
    border-color: #a40e26;
    color: #fff;
  }
  button.primary {
    background: var(--accent);
    border-color: var(--accent);
    color: #fff;
  }
  header button {
    background: transparent;
    color: #fff;
    border-color: #59636e;
    padding: 0.2rem 0.6rem;
  }
  .actions {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    margin: 0.5rem 0 1rem;
  }
  .actions form {
    margin: 0;
  }
  .actions.compact {
    flex-wrap: nowrap;
    gap: 0.3rem;
    margin: 0;
  }
  .actions.compact button {
    padding: 0.15rem 0.5rem;
    font-size: 0.8rem;
  }
  dl.fields {
    display: grid;
    grid-template-columns: max-content 1fr;
    gap: 0.3rem 1rem;
    margin: 0;
  }
  dl.fields dt {
    color: var(--muted);
  }
  dl.fields dd {
    /* A grid item is as wide as its widest line unless told otherwise; a long <pre> would
       widen the whole page on a phone instead of scrolling in its box. */
    min-width: 0;
    margin: 0;
    overflow-wrap: anywhere;
  }
  pre {
    background: var(--soft);
    border: 1px solid var(--line);
    border-radius: 0.4rem;
    padding: 0.6rem;
    margin: 0;
    overflow: auto;
    max-height: 28rem;
    white-space: pre;
  }
  pre.text {
    white-space: pre-wrap;
    overflow-wrap: break-word;
  }
  .pager {
    display: flex;
    gap: 1rem;
    margin: 0.8rem 0;
  }
  .login {
    max-width: 24rem;
    margin: 3rem auto;
  }
  .login form {
    display: flex;
    flex-direction: column;
    gap: 0.7rem;
  }
  .live-status {
    margin: -0.4rem 0 0.6rem;
    font-size: 0.8rem;
    color: var(--muted);
  }
  #live-mode[data-state='live']::before {
    content: '● ';
    color: #1a7f37;
  }
  td.limits {
    font-size: 0.8rem;
  }
  @media (max-width: 40rem) {
    main {
      padding: 0.6rem;
    }
    dl.fields {
      grid-template-columns: 1fr;
      gap: 0 0;
    }
    dl.fields dd {
      margin-bottom: 0.4rem;
    }
    .hide-narrow {
      display: none;
    }
  }
</style>`;

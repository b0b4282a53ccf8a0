/**
 * The login page: one field for the API token.
 * @module
 */
import type { Flash } from '../flash.ts';
import { html, type SafeHtml } from '../html.ts';
import { layout } from '../layout.ts';

/** Options of {@link loginPage}. */
export interface LoginPageOptions {
  root: string;
  /** Shown above the form, e.g. "Logged out." */
  flash?: Flash | null;
  /** True after a wrong token: the form comes back with a message. */
  failed?: boolean;
  /** Set while the client is locked out after too many wrong tokens: the wait, in seconds. */
  retryAfterSeconds?: number;
}

/** The login form, posting to `<root>/login`. */
export function loginPage(options: LoginPageOptions): SafeHtml {
  const body = html`<section class="login">
    <h1>Log in</h1>
    ${options.failed && html`<p class="flash flash-error" role="alert">That token is not valid. Check TASK_WORKER_API_TOKEN and try again.</p>`}
    ${options.retryAfterSeconds !== undefined && html`<p class="flash flash-error" role="alert">Too many failed attempts. Try again in ${String(options.retryAfterSeconds)} s.</p>`}
    <form method="post" action="${options.root}/login">
      <label
        >API token (TASK_WORKER_API_TOKEN)
        <input type="password" name="token" autocomplete="current-password" required autofocus />
      </label>
      <button type="submit" class="primary">Log in</button>
    </form>
  </section>`;
  return layout({ title: 'Log in', root: options.root, flash: options.flash ?? null, logout: false, body });
}

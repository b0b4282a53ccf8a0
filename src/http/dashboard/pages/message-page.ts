/**
 * A page that only says what went wrong (unknown task, refused post) and links back.
 * @module
 */
import { html, type SafeHtml } from '../html.ts';
import { layout } from '../layout.ts';

/** Options of {@link messagePage}. */
export interface MessagePageOptions {
  root: string;
  title: string;
  message: string;
  logout: boolean;
}

/** A heading, a sentence and a link to the overview. */
export function messagePage(options: MessagePageOptions): SafeHtml {
  const body = html`<h1>${options.title}</h1>
    <p>${options.message}</p>
    <p><a href="${options.root}">Back to the overview</a></p>`;
  return layout({ title: options.title, root: options.root, logout: options.logout, body });
}

/** The 404 page for an id that names no task (malformed ids included). */
export function taskNotFoundPage(root: string, id: string, logout: boolean): SafeHtml {
  return messagePage({
    root,
    title: 'Task not found',
    message: `There is no task with id ${JSON.stringify(id.slice(0, 100))}.`,
    logout,
  });
}

/** The 503 page while the database cannot be reached. */
export function databaseUnavailablePage(root: string, logout: boolean): SafeHtml {
  return messagePage({
    root,
    title: 'Database unavailable',
    message:
      'The database is unavailable right now, so this page cannot be shown. Try again in a few seconds.',
    logout,
  });
}

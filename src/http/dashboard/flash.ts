/**
 * The short messages shown after an action. The redirect carries a code (`?flash=cancelled`),
 * never the text: a link someone sends cannot make the dashboard display words of their
 * choosing, and an unknown code shows nothing.
 * @module
 */

/** A message and how it looks. */
export interface Flash {
  kind: 'success' | 'error';
  text: string;
}

const FLASHES = {
  cancelled: { kind: 'success', text: 'Task cancelled.' },
  'cancel-final': { kind: 'error', text: 'The task had already finished; nothing was cancelled.' },
  retried: { kind: 'success', text: 'Task queued again.' },
  'retry-not-final': {
    kind: 'error',
    text: 'Only COMPLETED, FAILED or CANCELLED tasks can be retried; nothing changed.',
  },
  'retry-unique-key': {
    kind: 'error',
    text: 'Another unfinished task holds this task’s uniqueKey; it cannot be retried yet.',
  },
  'schedule-paused': { kind: 'success', text: 'Schedule paused: it creates no tasks until resumed.' },
  'schedule-resumed': {
    kind: 'success',
    text: 'Schedule resumed: it fires from its next fire time on; fires missed while paused are not made up.',
  },
  'schedule-deleted': { kind: 'success', text: 'Schedule deleted. The tasks it created stay.' },
  'logged-out': { kind: 'success', text: 'Logged out.' },
} as const satisfies Record<string, Flash>;

/** A code the dashboard redirects with. */
export type FlashCode = keyof typeof FLASHES;

/** The message of `code`, or `null` for none or an unknown one. */
export function flashFor(code: string | undefined): Flash | null {
  return code !== undefined && Object.hasOwn(FLASHES, code) ? FLASHES[code as FlashCode] : null;
}

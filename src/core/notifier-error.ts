/**
 * Errors the notifiers throw on purpose, and the default sink for errors nobody awaits.
 * @module
 */
import { TaskWorkerError } from './errors.ts';

/** Codes of {@link NotifierError}. */
export type NotifierErrorCode =
  /** The channel name cannot travel on every transport (empty, whitespace, `% ? # / \`). */
  | 'INVALID_CHANNEL'
  /** The message cannot travel on this transport (a line break on Upstash's event stream). */
  | 'INVALID_MESSAGE'
  /** The message is over the transport's size limit (Postgres NOTIFY: 7999 bytes). */
  | 'MESSAGE_TOO_LARGE'
  /** The transport refused or did not answer in time; the message is gone. */
  | 'PUBLISH_FAILED'
  /** `publish` or `subscribe` after `close()`. */
  | 'NOTIFIER_CLOSED';

/** A notifier could not do what it was asked. `channel` names the channel involved, if any. */
export class NotifierError extends TaskWorkerError {
  override name = 'NotifierError';
  declare readonly code: NotifierErrorCode;
  readonly channel: string | undefined;
  constructor(code: NotifierErrorCode, message: string, options?: { cause?: unknown; channel?: string }) {
    super(code, message, options);
    this.channel = options?.channel;
  }
}

/** Receives errors that happen in the background (lost connections, a throwing `onMessage`). */
export type NotifierErrorHandler = (error: unknown) => void;

/**
 * The default {@link NotifierErrorHandler}: one warning per background error, so an operator
 * sees that Redis or Postgres is unreachable while the notifier keeps retrying.
 */
export function warnNotifierError(error: unknown): void {
  console.warn('[edge-task-worker] notifier:', error instanceof Error ? error.message : error);
}

/** Calls `handler`, which must never break the caller, not even by throwing. */
export function reportNotifierError(handler: NotifierErrorHandler, error: unknown): void {
  try {
    handler(error);
  } catch {
    // An error handler that throws has nowhere left to report to.
  }
}

/** The error `publish`/`subscribe` throw after `close()`. */
export function closedError(channel: string): NotifierError {
  return new NotifierError('NOTIFIER_CLOSED', `The notifier is closed; cannot use channel ${channel}.`, {
    channel,
  });
}

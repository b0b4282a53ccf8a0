/**
 * Turns "the connection is up/down" observations into the `onStatus` calls the Notifier port
 * promises: changes only, `disconnected` first.
 * @module
 */
import type { NotifierStatus } from '../../core/notifier.ts';
import { reportNotifierError, type NotifierErrorHandler } from '../../core/notifier-error.ts';

/** Tracks one subscription's connection state. */
export interface StatusReporter {
  /** The subscription is active; reports `connected` only after a reported `disconnected`. */
  up(): void;
  /** The subscription is not active; reports `disconnected` once per outage. */
  down(): void;
}

/**
 * A reporter for `onStatus`. A subscription that works from the start reports nothing (the
 * resolved `subscribe()` says so), so consumers only see real gaps: `disconnected`, then
 * `connected` when messages flow again and the state should be re-read.
 */
export function createStatusReporter(
  onStatus: ((status: NotifierStatus) => void) | undefined,
  onError: NotifierErrorHandler,
): StatusReporter {
  let state: 'initial' | NotifierStatus = 'initial';
  const report = (status: NotifierStatus) => {
    state = status;
    if (!onStatus) return;
    try {
      onStatus(status);
    } catch (error) {
      reportNotifierError(onError, error);
    }
  };
  return {
    up() {
      if (state === 'disconnected') report('connected');
      else state = 'connected';
    },
    down() {
      if (state !== 'disconnected') report('disconnected');
    },
  };
}

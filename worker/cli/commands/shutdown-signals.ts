/**
 * Shutdown signals for long-running commands: the first press asks for a graceful stop, the
 * second for an immediate one, and (when the command handles it) the third for an exit
 * regardless.
 * @module
 */
import { performance } from 'node:perf_hooks';

// Ctrl-C reaches the process from the terminal (it signals the whole foreground process group)
// and again from each wrapper that forwards it (scripts/node22.mjs; npm forwards to its shell,
// which does not forward): copies this close to a counted signal are the same press. This
// holds for every press, not only the first, so that the second Ctrl-C is not taken for a
// third.
export const SIGNAL_ECHO_MS = 300;

const DEFAULT_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

export interface ShutdownHandlers {
  graceful: (signal: NodeJS.Signals) => void;
  immediate: (signal: NodeJS.Signals) => void;
  /** The third press and later (default: `immediate` again). */
  final?: (signal: NodeJS.Signals) => void;
}

/**
 * Calls `graceful` on the first signal, `immediate` on the second and `final` on later ones,
 * counting repeats within {@link SIGNAL_ECHO_MS} of a counted one as the same press. Returns
 * a function that removes the handlers.
 */
export function onShutdownSignals(
  handlers: ShutdownHandlers,
  signals: readonly NodeJS.Signals[] = DEFAULT_SIGNALS,
): () => void {
  let presses = 0;
  let lastAt = -Infinity;
  const onSignal = (signal: NodeJS.Signals) => {
    const now = performance.now();
    if (now - lastAt < SIGNAL_ECHO_MS) return;
    lastAt = now;
    presses++;
    if (presses === 1) handlers.graceful(signal);
    else if (presses === 2 || !handlers.final) handlers.immediate(signal);
    else handlers.final(signal);
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}

/** What a command does on a signal once it is up. */
export interface ShutdownActions {
  graceful(): void;
  immediate(): void;
}

/**
 * Handles shutdown signals from now on, for a command that takes a while to start (and may
 * hold claimed tasks or child processes before it is up): `announce` runs on each press at
 * once (its `final`, the third press, included); the actions run once `ready` hands them over,
 * including for a signal that came before.
 */
export function shutdownSignalsFromStart(
  announce: ShutdownHandlers,
  signals: readonly NodeJS.Signals[] = DEFAULT_SIGNALS,
): { ready(actions: ShutdownActions): void; remove(): void } {
  let actions: ShutdownActions | undefined;
  let pending: keyof ShutdownActions | undefined;
  const remove = onShutdownSignals(
    {
      graceful(signal) {
        announce.graceful(signal);
        if (actions) actions.graceful();
        else pending ??= 'graceful';
      },
      immediate(signal) {
        announce.immediate(signal);
        if (actions) actions.immediate();
        else pending = 'immediate';
      },
      final: announce.final,
    },
    signals,
  );
  return {
    remove,
    ready(handed) {
      actions = handed;
      if (pending) handed[pending]();
    },
  };
}

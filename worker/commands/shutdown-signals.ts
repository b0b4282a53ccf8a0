/**
 * SIGINT/SIGTERM for long-running commands: the first signal asks for a graceful stop, a
 * second one for an immediate one.
 * @module
 */

// Ctrl-C reaches the process from the terminal and again from each wrapper that forwards it
// (npm, scripts/node22.mjs): repeats this close together count as the same press.
const SIGNAL_ECHO_MS = 300;

/**
 * Calls `graceful` on the first SIGINT/SIGTERM and `immediate` on a later one. Returns a
 * function that removes the handlers.
 */
export function onShutdownSignals(handlers: {
  graceful: (signal: NodeJS.Signals) => void;
  immediate: (signal: NodeJS.Signals) => void;
}): () => void {
  let count = 0;
  let firstAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (count === 1 && Date.now() - firstAt < SIGNAL_ECHO_MS) return;
    count++;
    if (count === 1) {
      firstAt = Date.now();
      handlers.graceful(signal);
    } else {
      handlers.immediate(signal);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/** What a command does on a signal once it is up. */
export interface ShutdownActions {
  graceful(): void;
  immediate(): void;
}

/**
 * Handles SIGINT/SIGTERM from now on, for a command that takes a while to start (and may hold
 * claimed tasks or child processes before it is up): `announce` logs each signal at once; the
 * actions run once `ready` hands them over, including for a signal that came before.
 */
export function shutdownSignalsFromStart(announce: {
  graceful: (signal: NodeJS.Signals) => void;
  immediate: (signal: NodeJS.Signals) => void;
}): { ready(actions: ShutdownActions): void; remove(): void } {
  let actions: ShutdownActions | undefined;
  let pending: keyof ShutdownActions | undefined;
  const remove = onShutdownSignals({
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
  });
  return {
    remove,
    ready(handed) {
      actions = handed;
      if (pending) handed[pending]();
    },
  };
}

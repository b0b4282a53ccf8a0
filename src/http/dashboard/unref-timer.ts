/**
 * Timers of live updates that must not keep a Node process alive (a stream nobody reads, a
 * subscription kept for a while after its last page left). Edge-safe: `unref` exists on
 * Node's timers only, and elsewhere this does nothing.
 * @module
 */

/** Lets `timer` not hold the process open, where the runtime can; returns it. */
export function unrefTimer<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

/**
 * Clears a timeout or an interval that may not be set. Workers' `clearTimeout` takes
 * `number | null`, not undefined, so the check is explicit.
 */
export function clearTimer(timer: ReturnType<typeof setTimeout> | undefined): void {
  if (timer !== undefined) clearTimeout(timer);
}

/**
 * Reconnection delays shared by the notifiers.
 * @module
 */

/** How quickly a notifier retries a lost connection. */
export interface RetryOptions {
  /** Delay before the first retry, in milliseconds (default: 100). */
  initialDelayMs?: number;
  /** Longest delay between two retries, in milliseconds (default: 5000). */
  maxDelayMs?: number;
}

/**
 * The delay before retry number `attempt` (0-based): exponential, capped, with "equal jitter"
 * (half fixed, half random) so that every client of a restarted Redis does not reconnect in
 * the same millisecond, yet none retries at once in a tight loop.
 */
export function backoffDelay(
  attempt: number,
  options: RetryOptions = {},
  random: () => number = Math.random,
): number {
  const initial = Math.max(1, options.initialDelayMs ?? 100);
  const max = Math.max(initial, options.maxDelayMs ?? 5000);
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

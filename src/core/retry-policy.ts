/**
 * When a failed or lost task runs again. The formula itself lives in SQL
 * (`src/sql/worker-statements.ts`) so that every executor, and the sweeper, agree:
 *
 *   delay(n) = min(maxSeconds, baseSeconds * 2^n) * (0.5 + random() / 2)
 *
 * for the n-th retry (n = retries used before it: 0, 1, 2, ...): 0.5–1 s, 1–2 s, 2–4 s, ...
 * capped at 0.5–1 h with the defaults. The random half spreads a burst of failures out.
 * @module
 */

export interface RetryBackoff {
  /** Delay of the first retry before jitter, in seconds (default: 1). */
  baseSeconds: number;
  /** Largest delay before jitter, in seconds (default: 3600). */
  maxSeconds: number;
}

export const DEFAULT_RETRY_BACKOFF: RetryBackoff = { baseSeconds: 1, maxSeconds: 3600 };

/** The bounds of the n-th retry's delay, in seconds: `[min, max]`. */
export function retryDelayBounds(
  retryCount: number,
  backoff: RetryBackoff = DEFAULT_RETRY_BACKOFF,
): [number, number] {
  const full = Math.min(backoff.maxSeconds, backoff.baseSeconds * 2 ** Math.min(retryCount, 30));
  return [full / 2, full];
}

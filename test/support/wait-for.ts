/**
 * Waiting for a condition instead of for a fixed time, so a test does not depend on how fast the
 * machine is (CONTRIBUTING: prefer events and polling with a deadline to fixed sleeps). Timers
 * only: usable in Node and inside workerd.
 */

export interface WaitForOptions {
  /** Give up after this many ms. Default 20 s: generous, for a loaded machine. */
  timeout?: number;
  /** Look again every this many ms. Default 25. */
  interval?: number;
  /** What is awaited, for the error message. */
  what?: string;
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * Calls `check` until it returns a truthy value and resolves with that value. Rejects when the
 * deadline passes first (after one last look), naming `what` and the last value seen; an error
 * thrown by `check` rejects at once.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<Truthy<T>> {
  const { timeout = 20_000, interval = 25, what = 'the condition' } = options;
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value as Truthy<T>;
    if (Date.now() >= deadline) {
      throw new Error(`Timed out after ${timeout} ms waiting for ${what} (last value: ${String(value)})`);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

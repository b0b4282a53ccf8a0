/**
 * Polling helper of the workloads: checks a condition at a fixed interval until it holds.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Calls `check` every `intervalMs` until it returns true; resolves with the
 * `performance.now()` of the check that saw it. Throws after `timeoutMs` with `describe()`.
 */
export async function waitFor(
  check: () => Promise<boolean>,
  { intervalMs, timeoutMs, describe }: { intervalMs: number; timeoutMs: number; describe: () => string },
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return performance.now();
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms: ${describe()}`);
    await sleep(intervalMs);
  }
}

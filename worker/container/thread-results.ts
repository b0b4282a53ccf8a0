/**
 * What a thread's answers do to its slot: finished tasks leave it with their outcome (or as
 * aborted, when they had been aborted or timed out meanwhile), and tasks it handed back leave it
 * to wait for another thread. Slot state only; executor-pool.ts schedules what comes next.
 * @module
 */
import type { ThreadResult } from './thread-protocol.ts';
import { abortError, type Run, type Slot } from './thread-slot.ts';

/**
 * Resolves the runs of `results` and removes them from the slot; `ran` gets the duration (s)
 * of each task that ran (not of skipped ones). Results of runs already resolved are ignored.
 */
export function settleResults(
  slot: Slot,
  results: readonly ThreadResult[],
  ran: (seconds: number) => void,
): void {
  slot.lastActive = performance.now();
  for (const result of results) {
    const index = slot.runs.findIndex((run) => run.task.token === result.token);
    if (index < 0) continue; // aborted earlier, already resolved
    const [run] = slot.runs.splice(index, 1);
    if (!run) continue;
    if (index === 0) {
      clearTimeout(slot.killTimer);
      slot.killTimer = undefined;
    }
    if ('skipped' in result) {
      run.resolve({ ok: false, error: abortError('Aborted before it started'), duration: 0, aborted: true });
      continue;
    }
    ran(result.duration);
    // A result after the deadline does not count: the task timed out (or was aborted).
    run.resolve(
      run.ending
        ? { ok: false, ...run.ending, duration: result.duration }
        : result.ok
          ? { ok: true, json: result.json, duration: result.duration }
          : { ok: false, error: result.error, duration: result.duration },
    );
  }
}

/** Removes the runs the thread handed back (never its current one) and returns them. */
export function takeReleased(slot: Slot, tokens: readonly string[]): Run[] {
  slot.releasing = false;
  const released = new Set(tokens);
  const moved = slot.runs.filter((run, index) => index > 0 && released.has(run.task.token));
  if (moved.length > 0) slot.runs = slot.runs.filter((run) => !moved.includes(run));
  return moved;
}

/**
 * How many tasks go to an execution thread in one message: pure functions of the measured task
 * pace, so they are testable without threads. See executor-pool.ts.
 * @module
 */

/**
 * How many tasks a thread is given at once: 1 for tasks of a millisecond or more, up to 64
 * for ones under 50 µs, where per-message cost dominates (a task that runs long anyway gets
 * the rest handed back, see the pool's `armRelease`). Unknown pace counts as slow.
 */
export function batchDepth(averageMs: number | undefined): number {
  if (averageMs === undefined || averageMs >= 1) return 1;
  if (averageMs >= 0.25) return 4;
  if (averageMs >= 0.05) return 16;
  return 64;
}

/**
 * How many tasks to send a thread that has `queued` unfinished ones at `depth`: the free room,
 * but for a busy thread only once half its queue is free. A message costs ~20 µs of CPU
 * whatever it carries; topping up by the few tasks that had just finished averaged 25 tasks
 * per message at a depth of 64 in a no-op drain, this 34.
 */
export function topUpSize(queued: number, depth: number): number {
  const room = depth - queued;
  if (room <= 0) return 0;
  if (queued > 0 && room * 2 < depth) return 0;
  return room;
}

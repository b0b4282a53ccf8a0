/**
 * When the execution thread pool starts more threads: the policy, as a pure function of the
 * pool's state, so it is testable without threads or clocks. See executor-pool.ts.
 * @module
 */

/** A thread on the same task this long counts as held: more threads may start. */
export const BLOCKED_MS = 50;

/** What the pool knows when tasks wait for room. */
export interface GrowthState {
  /** Threads started so far (ready or loading). */
  threads: number;
  /** Threads still loading the tasks module. */
  loading: number;
  /** Most threads allowed (`--concurrency`). */
  size: number;
  /** Tasks waiting for room in a thread. */
  waiting: number;
  /**
   * Per ready thread: ms since a look first found its current task held (thread-slot.ts
   * heldSeenFor), or undefined when it is not held.
   */
  heldFor: readonly (number | undefined)[];
  /** Moving average of task run time, ms; undefined until a task finished. */
  averageMs: number | undefined;
  /** Most threads worth starting for sub-millisecond tasks (cores − 1, at least 1). */
  fastThreads: number;
}

/**
 * How many threads to start now, or `'later'` when it may be worth looking again after
 * {@link BLOCKED_MS} (tasks wait but no thread has been held that long yet).
 * - every ready thread seen held for BLOCKED_MS: one thread per waiting task, up to `size`;
 * - sub-millisecond tasks: one more thread, up to `fastThreads`;
 * - a thread still loading, nothing waiting, or at `size`: none.
 */
export function threadsToStart(state: GrowthState): number | 'later' {
  if (state.waiting === 0 || state.threads >= state.size) return 0;
  // One step at a time: a thread still loading will take some of the backlog.
  if (state.loading > 0) return 0;
  const held = state.heldFor.every((ms) => ms !== undefined && ms >= BLOCKED_MS);
  if (held) return Math.min(state.size - state.threads, state.waiting);
  if (state.averageMs !== undefined && state.averageMs < 1 && state.threads < state.fastThreads) return 1;
  return 'later';
}

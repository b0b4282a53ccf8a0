/**
 * A job run every `intervalMs` until stopped: the one timer loop of the maintainer and the
 * lease keeper. Timers only (no Node built-ins), so it runs in workerd as well as in Node.
 * @module
 */

/** A running periodic job. */
export interface Periodic {
  /**
   * Stops the timer and resolves once the runs still in flight settled, so the caller can close
   * the database after it. Idempotent.
   */
  stop(): Promise<void>;
}

/**
 * Calls `run` every `intervalMs`, the first time one interval after the call. Like
 * `setInterval`, a run starts on time even when the previous one has not finished (every job
 * run here is safe to overlap: `FOR UPDATE SKIP LOCKED`, fenced updates). `run` handles its
 * own errors; a rejection is ignored rather than left unhandled.
 */
export function startPeriodic(run: () => Promise<unknown>, intervalMs: number): Periodic {
  const inFlight = new Set<Promise<unknown>>();
  const timer: ReturnType<typeof setInterval> = setInterval(() => {
    const running = run().catch(() => undefined);
    inFlight.add(running);
    void running.finally(() => inFlight.delete(running));
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.allSettled([...inFlight]);
    },
  };
}

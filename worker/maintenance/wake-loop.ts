/**
 * A loop that runs a job, sleeps as long as the job asks, and runs it again: never two runs at
 * once, a `poke()` cuts the sleep short (at most one run per `pokeGapMs`), and `stop()` waits
 * for the run in flight. The maintainer's driver. Timers only, so it runs in workerd too.
 * @module
 */

export interface WakeLoopOptions {
  /** One run; resolves with the milliseconds to sleep before the next. Must not reject. */
  run: () => Promise<number>;
  /** A poke never starts a run sooner than this after the previous one started. */
  pokeGapMs: number;
}

export interface WakeLoop {
  /** Run soon: now, or `pokeGapMs` after the last run started. */
  poke(): void;
  /** Stops; resolves once the run in flight, if any, settled. Idempotent. */
  stop(): Promise<void>;
}

/** Starts the loop; the first run is now. */
export function createWakeLoop(options: WakeLoopOptions): WakeLoop {
  let stopped = false;
  let poked = false;
  let lastStart = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = () => {
        if (timer !== undefined) clearTimeout(timer);
        wake = undefined;
        resolve();
      };
      timer = setTimeout(() => wake?.(), ms);
    });

  const gapLeft = () => Math.max(0, lastStart + options.pokeGapMs - Date.now());

  async function loop(): Promise<void> {
    while (!stopped) {
      poked = false;
      lastStart = Date.now();
      let sleepMs = await options.run();
      // Sleep as asked; a poke (during the run or the sleep) shortens it to the gap.
      while (!stopped) {
        if (poked) sleepMs = Math.min(sleepMs, gapLeft());
        if (sleepMs > 0) await sleep(sleepMs);
        if (!poked || gapLeft() === 0) break;
        sleepMs = gapLeft();
      }
    }
  }

  const running = loop();
  return {
    poke() {
      if (stopped) return;
      poked = true;
      // Sleeping: wake, and the loop sleeps what is left of the gap.
      wake?.();
    },
    async stop() {
      stopped = true;
      wake?.();
      await running;
    },
  };
}

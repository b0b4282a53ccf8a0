/**
 * The `unannounced_tasks` warning: an idle worker that listens for notifications sleeps until
 * one comes (or `idleInterval` passes), so a task created without one (a client given no
 * notifier, a publish that failed) waits. The worker says so, at most every 10 minutes, when it
 * is sure that is what happened:
 *
 * - the maintainer's plan found a task due for {@link UNANNOUNCED_AFTER_MS} or more while every
 *   slot was free and notifications reached the worker (the warning is armed), and
 * - the claim after that took a task that had been due that long, and
 * - no limit held due tasks back at that claim or the one before (a queue's concurrency or rate
 *   limit keeps due tasks waiting however well they were announced: not this warning's case).
 *
 * Pure bookkeeping over the worker's logger; the clock is injectable for tests.
 * @module
 */
import type { MaintenancePlan } from '../maintenance/maintenance-plan.ts';
import type { Logger } from './logger.ts';

/** How long a due task must have waited to count as unannounced. */
export const UNANNOUNCED_AFTER_MS = 5000;
/** The least time between two warnings. */
export const UNANNOUNCED_WARN_EVERY_MS = 600_000;

export interface UnannouncedTasks {
  /** The maintainer's plan, seen while every slot was free and notifications reached the worker. */
  dueWhileIdle(plan: Pick<MaintenancePlan, 'now' | 'nextDue'>): void;
  /**
   * A claim returned `tasks`; `limited`: limits held due tasks back at this claim, or at the one
   * before it (the producer was waiting for room).
   */
  claimed(tasks: readonly { waitedMs: number }[], limited: boolean): void;
}

/** The warning for one worker, written to `logger`. */
export function unannouncedTasks(logger: Logger, clock: () => number = Date.now): UnannouncedTasks {
  let armed = false;
  let lastWarned = -Infinity;
  return {
    dueWhileIdle(plan) {
      if (plan.nextDue !== null && plan.now - plan.nextDue >= UNANNOUNCED_AFTER_MS) armed = true;
    },
    claimed(tasks, limited) {
      if (!armed) return;
      armed = false;
      if (limited) return;
      let waitedMs = 0;
      for (const task of tasks) waitedMs = Math.max(waitedMs, task.waitedMs);
      const now = clock();
      if (waitedMs < UNANNOUNCED_AFTER_MS || now - lastWarned < UNANNOUNCED_WARN_EVERY_MS) return;
      lastWarned = now;
      logger.log('warn', 'unannounced_tasks', {
        waitedSeconds: Math.round(waitedMs / 1000),
        note: 'a task was due without a notification: give its client the same notifier, or lower --idle-interval',
      });
    },
  };
}

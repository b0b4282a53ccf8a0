/**
 * The maintainer: the one place for a queue's periodic work, run by one elected leader per
 * schema. Today that is recovering expired leases (a sweep: back to `PENDING` with back-off,
 * or `FAILED` with no retries left) and retention (deleting final tasks past `retentionDays`,
 * in bounded batches); recurring schedules belong here too.
 *
 * Every executor takes part: the container worker runs `start()` (a loop of `tick()`s, each
 * sleeping until the plan says the database is next needed), the Cloudflare cron executor runs
 * one `tick()` per invocation, and `task-worker sweep` runs `runOnce()` (an operator's pass,
 * outside the election). A tick is one statement that takes or renews the leader lease and
 * plans; the leader then runs the jobs that are due, each batch fenced by its lease, so passes
 * never overlap, and a dead leader's lease just expires. Edge-safe: timers only.
 * @module
 */
import { createTaskEvent, type TaskEvent } from '../../src/core/events/task-events.ts';
import type { SweptTask } from '../../src/core/execution/sweep.ts';
import { createMaintenanceJobs, operatorPass } from './maintenance-jobs.ts';
import type { MaintainerOptions, MaintenanceJob, MaintenanceReport } from './maintainer-options.ts';
import { nextWakeMs, type MaintenancePlan } from './maintenance-plan.ts';
import type { FiredTask } from './schedule-firing.ts';
import { createWakeLoop, type WakeLoop } from './wake-loop.ts';

export type { SweptTask, MaintenancePlan, FiredTask, MaintainerOptions, MaintenanceJob, MaintenanceReport };

/** What one tick found and did, and when the next one is due. */
export interface MaintenanceTick extends MaintenanceReport {
  plan: MaintenancePlan;
  /** Tasks the schedules that were due created. */
  fired: FiredTask[];
  /** Milliseconds until this executor next needs the database. */
  wakeInMs: number;
}

export interface Maintainer {
  /** The holder id this maintainer is elected under. */
  readonly holder: string;
  /** One election-and-plan, then the jobs that are due when leading. Rejects on failure. */
  tick(): Promise<MaintenanceTick>;
  /** An operator's pass outside the election: sweep, then all retention (when on). */
  runOnce(): Promise<MaintenanceReport>;
  /** Runs ticks, each when the last one's plan says; failures go to `onError`. Idempotent. */
  start(): void;
  /** Asks for a tick soon (debounced to one per second): something may have become due. */
  poke(): void;
  /** Stops the ticks, waits for the one in flight, and hands the lease on if held. */
  stop(): Promise<void>;
}

/** The default of `intervalMs`: a third of the default 30 s lease, like the worker's sweeps. */
export const DEFAULT_MAINTENANCE_INTERVAL_MS = 10_000;
/** The default of `idleMs`: longer than Neon's 5 minutes before it suspends an idle compute. */
export const DEFAULT_IDLE_MS = 600_000;
const SWEEP_GRACE_MS = 1000;

/** Builds a maintainer; nothing runs until `tick`, `runOnce` or `start`. */
export function createMaintainer(options: MaintainerOptions): Maintainer {
  const holder = options.holder ?? `maintainer:${crypto.randomUUID().slice(0, 8)}`;
  const intervalMs = options.intervalMs ?? DEFAULT_MAINTENANCE_INTERVAL_MS;
  const jobs = createMaintenanceJobs({ ...options, holder });
  const { plan, sweep, retention, fireSchedules } = jobs;

  /** A tick; with `onJobError`, a failing job is reported there and the other ones still run. */
  async function tick(onJobError?: (error: unknown, job: MaintenanceJob) => void): Promise<MaintenanceTick> {
    const guarded = async <T>(job: MaintenanceJob, run: () => Promise<T>, fallback: T): Promise<T> => {
      if (!onJobError) return run();
      try {
        return await run();
      } catch (error) {
        onJobError(error, job);
        return fallback;
      }
    };
    const planned = await plan();
    let swept: SweptTask[] = [];
    let deleted = 0;
    let moreWork = false;
    if (planned.leading && planned.earliestLease !== null && planned.earliestLease < planned.now) {
      swept = await guarded('sweep', () => sweep(holder), []);
      // Requeued tasks are due after their back-off: plan again soon.
      moreWork = swept.length > 0;
    }
    let fired: FiredTask[] = [];
    if (planned.leading && planned.nextScheduleAt !== null && planned.nextScheduleAt <= planned.now) {
      fired = await guarded('schedules', () => fireSchedules(planned), []);
    }
    if (planned.leading && planned.retentionDueAt !== null && planned.retentionDueAt <= planned.now) {
      const result = await guarded('retention', () => retention(planned), { deleted: 0, done: false });
      deleted = result.deleted;
      moreWork ||= !result.done;
    }
    if (planned.nextDue !== null && planned.nextDue <= planned.now) options.onDue?.(planned);
    const idleMs = options.listening?.() ? (options.idleMs ?? DEFAULT_IDLE_MS) : intervalMs;
    const wakeInMs = nextWakeMs(planned, { intervalMs, idleMs, sweepGraceMs: SWEEP_GRACE_MS, moreWork });
    return { plan: planned, swept, deleted, fired, wakeInMs };
  }

  let loop: WakeLoop | undefined;
  return {
    holder,
    tick: () => tick(),
    runOnce: () => operatorPass(options),
    start() {
      loop ??= createWakeLoop({
        async run() {
          try {
            return (await tick((error, job) => options.onError?.(error, job))).wakeInMs;
          } catch (error) {
            options.onError?.(error, 'plan');
            return intervalMs;
          }
        },
        pokeGapMs: 1000,
      });
    },
    poke() {
      loop?.poke();
    },
    async stop() {
      const stopping = loop?.stop();
      loop = undefined;
      await stopping;
      await jobs.release();
    },
  };
}

/** The `task_created` events of tasks schedules created (they wake the workers of their queues). */
export function firedTaskEvents(fired: readonly FiredTask[]): TaskEvent[] {
  return fired.map((task) => createTaskEvent('task_created', { ...task, attempt: 0 }));
}

/** The events of swept tasks: `task_failed` for those out of retries, else `task_requeued`. */
export function sweptTaskEvents(swept: readonly SweptTask[]): TaskEvent[] {
  return swept.map((task) =>
    createTaskEvent(task.status === 'FAILED' ? 'task_failed' : 'task_requeued', task),
  );
}

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
import type { Database } from '../../src/core/database.ts';
import { createTaskEvent, type TaskEvent } from '../../src/core/events/task-events.ts';
import {
  deleteFinishedTasks,
  deleteFinishedTasksInBatches,
  sweepExpiredTasks,
  type SweptTask,
} from '../../src/core/execution/sweep.ts';
import type { RetryBackoff } from '../../src/core/retry-policy.ts';
import { DEFAULT_SCHEMA } from '../../src/core/schema-name.ts';
import { maintainerStatements } from '../../src/core/sql/maintainer-statements.ts';
import { nextWakeMs, planFromRow, type MaintenancePlan } from './maintenance-plan.ts';
import { createWakeLoop, type WakeLoop } from './wake-loop.ts';

export type { SweptTask, MaintenancePlan };

/** The jobs of the maintainer; `plan` is the election-and-plan statement. */
export type MaintenanceJob = 'plan' | 'sweep' | 'retention';

export interface MaintainerOptions {
  db: Database;
  /** (default: task_worker) */
  schema?: string;
  /** Who this executor is in the election (default: maintainer:<random>). */
  holder?: string;
  /** Seconds a leader holds the lease per tick (default: 30). */
  leaseSeconds?: number;
  /** Back-off of the tasks a sweep returns to `PENDING` (default: 1 s base, 1 h cap). */
  backoff?: RetryBackoff;
  /** Deletes final tasks created more than this many days ago; 0 keeps everything (default: 0). */
  retentionDays?: number;
  /** Milliseconds between retention passes, across all executors (default: 1 h). */
  retentionIntervalMs?: number;
  /** Most delete statements (of 1,000 rows) per retention pass; the rest waits a tick (default: 10). */
  retentionBatches?: number;
  /** The cadence while something is due but waits (default: 10000, a third of the default lease). */
  intervalMs?: number;
  /**
   * The longest sleep of `start()` with nothing in sight while `listening()` (default: 600000,
   * so an idle queue lets a serverless database suspend); `intervalMs` while not listening.
   */
  idleMs?: number;
  /** Whether notifications reach this executor now (default: never). */
  listening?: () => boolean;
  /** The served queues, for `nextDue` (default: all). */
  queues?: readonly string[];
  /** Clock for tests; undefined means the database clock for SQL and `Date.now()` for retention (default). */
  now?: () => Date | undefined;
  /** A tick found due tasks (of the served queues). */
  onDue?: (plan: MaintenancePlan) => void;
  /** This executor became the leader, or stopped being it. */
  onLeadership?: (leading: boolean, holder: string | null) => void;
  /** After every sweep, with the tasks it moved (often none). */
  onSwept?: (tasks: SweptTask[]) => void;
  /** After every retention run, with how many tasks it deleted (often 0). */
  onDeleted?: (count: number, olderThanDays: number) => void;
  /** A job of `start()`'s ticks failed; the next tick tries again. (`tick`/`runOnce` reject.) */
  onError?: (error: unknown, job: MaintenanceJob) => void;
}

/** What one pass did. */
export interface MaintenanceReport {
  swept: SweptTask[];
  /** Final tasks deleted by retention (0 when retention is off). */
  deleted: number;
}

/** What one tick found and did, and when the next one is due. */
export interface MaintenanceTick extends MaintenanceReport {
  plan: MaintenancePlan;
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
const HOUR_MS = 3_600_000;
const SWEEP_GRACE_MS = 1000;

/** Builds a maintainer; nothing runs until `tick`, `runOnce` or `start`. */
export function createMaintainer(options: MaintainerOptions): Maintainer {
  const { db } = options;
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const holder = options.holder ?? `maintainer:${crypto.randomUUID().slice(0, 8)}`;
  const retentionDays = options.retentionDays ?? 0;
  const retentionOn = retentionDays > 0;
  const retentionIntervalMs = options.retentionIntervalMs ?? HOUR_MS;
  const intervalMs = options.intervalMs ?? DEFAULT_MAINTENANCE_INTERVAL_MS;
  const sql = maintainerStatements(schema);
  const nowParam = () => options.now?.()?.toISOString() ?? null;
  let leading = false;

  async function plan(): Promise<MaintenancePlan> {
    const queues = options.queues;
    const params: unknown[] = [holder, options.leaseSeconds ?? 30, nowParam()];
    const { rows } = queues
      ? await db.query(sql.maintainerPlanForQueues, [...params, [...queues]])
      : await db.query(sql.maintainerPlan, params);
    const planned = planFromRow(rows[0]!, holder, retentionOn ? retentionIntervalMs : null);
    if (planned.leading !== leading) {
      leading = planned.leading;
      options.onLeadership?.(leading, planned.holder);
    }
    return planned;
  }

  async function sweep(leader: string | undefined): Promise<SweptTask[]> {
    const now = options.now?.();
    const swept = await sweepExpiredTasks(db, { schema, backoff: options.backoff, now, leader });
    options.onSwept?.(swept);
    return swept;
  }

  /** One retention pass as the leader; true when nothing is left for now. */
  async function retention(planned: MaintenancePlan): Promise<{ deleted: number; done: boolean }> {
    const now = options.now?.()?.getTime();
    const result = await deleteFinishedTasksInBatches(db, {
      schema,
      days: retentionDays,
      now,
      leader: holder,
      maxBatches: options.retentionBatches ?? 10,
    });
    if (result.done) {
      await db.query(sql.maintainerRetentionRan, [holder, nowParam()]);
      planned.retentionDueAt = planned.now + retentionIntervalMs;
    }
    options.onDeleted?.(result.deleted, retentionDays);
    return result;
  }

  /** A tick; with `onJobError`, a failing job is reported there and the other one still runs. */
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
    if (planned.leading && planned.retentionDueAt !== null && planned.retentionDueAt <= planned.now) {
      const result = await guarded('retention', () => retention(planned), { deleted: 0, done: false });
      deleted = result.deleted;
      moreWork ||= !result.done;
    }
    if (planned.nextDue !== null && planned.nextDue <= planned.now) options.onDue?.(planned);
    const idleMs = options.listening?.() ? (options.idleMs ?? DEFAULT_IDLE_MS) : intervalMs;
    const wakeInMs = nextWakeMs(planned, { intervalMs, idleMs, sweepGraceMs: SWEEP_GRACE_MS, moreWork });
    return { plan: planned, swept, deleted, wakeInMs };
  }

  let loop: WakeLoop | undefined;
  return {
    holder,
    tick: () => tick(),
    async runOnce() {
      const swept = await sweep(undefined);
      if (!retentionOn) return { swept, deleted: 0 };
      const now = options.now?.()?.getTime();
      const deleted = await deleteFinishedTasks(db, { schema, days: retentionDays, now });
      options.onDeleted?.(deleted, retentionDays);
      return { swept, deleted };
    },
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
      if (leading) {
        leading = false;
        await db.query(sql.maintainerRelease, [holder, nowParam()]).catch(() => undefined);
      }
    },
  };
}

/** The events of swept tasks: `task_failed` for those out of retries, else `task_requeued`. */
export function sweptTaskEvents(swept: readonly SweptTask[]): TaskEvent[] {
  return swept.map((task) =>
    createTaskEvent(task.status === 'FAILED' ? 'task_failed' : 'task_requeued', task),
  );
}

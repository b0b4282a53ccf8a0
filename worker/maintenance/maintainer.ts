/**
 * The maintainer: the one place for a queue's periodic work. Today that is recovering expired
 * leases (a sweep: back to `PENDING` with back-off, or `FAILED` with no retries left) and
 * retention (deleting final tasks past `retentionDays`); recurring schedules belong here too.
 *
 * Every executor runs it: the container worker every `intervalMs` (`start`/`stop`), the
 * Cloudflare cron executor and `task-worker sweep` once per invocation (`runOnce`). Running it
 * from many places at once is safe (`FOR UPDATE SKIP LOCKED`, batched deletes). Edge-safe:
 * timers only, no Node built-ins.
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import { createTaskEvent, type TaskEvent } from '../../src/core/events/task-events.ts';
import { deleteFinishedTasks, sweepExpiredTasks, type SweptTask } from '../../src/core/execution/sweep.ts';
import type { RetryBackoff } from '../../src/core/retry-policy.ts';
import { startPeriodic, type Periodic } from './periodic.ts';

export type { SweptTask };

/** The jobs of one maintenance pass, in the order `runOnce` runs them. */
export type MaintenanceJob = 'sweep' | 'retention';

export interface MaintainerOptions {
  db: Database;
  /** (default: task_worker) */
  schema?: string;
  /** Back-off of the tasks a sweep returns to `PENDING` (default: 1 s base, 1 h cap). */
  backoff?: RetryBackoff;
  /** Deletes final tasks created more than this many days ago; 0 keeps everything (default: 0). */
  retentionDays?: number;
  /** Milliseconds between the passes of `start()` (default: 10000, a third of the default lease). */
  intervalMs?: number;
  /** Clock for tests; undefined means the database clock for sweeps and `Date.now()` for retention (default). */
  now?: () => Date | undefined;
  /** After every sweep, with the tasks it moved (often none). */
  onSwept?: (tasks: SweptTask[]) => void;
  /** After every retention run, with how many tasks it deleted (often 0). */
  onDeleted?: (count: number, olderThanDays: number) => void;
  /**
   * A job of a periodic pass failed; the other job still runs and the next pass tries again.
   * (`runOnce` rejects instead.)
   */
  onError?: (error: unknown, job: MaintenanceJob) => void;
}

/** What one pass did. */
export interface MaintenanceReport {
  swept: SweptTask[];
  /** Final tasks deleted by retention (0 when retention is off). */
  deleted: number;
}

export interface Maintainer {
  /** One pass: sweep, then retention (when on). Rejects with the first job that fails. */
  runOnce(): Promise<MaintenanceReport>;
  /**
   * Runs a pass every `intervalMs`, the first one interval from now, its two jobs side by
   * side; failures go to `onError`. Idempotent.
   */
  start(): void;
  /** Stops the passes; resolves once the pass in flight, if any, settled. */
  stop(): Promise<void>;
}

/** The default of `intervalMs`: a third of the default 30 s lease, like the worker's sweeps. */
export const DEFAULT_MAINTENANCE_INTERVAL_MS = 10_000;

/** Builds a maintainer; nothing runs until `runOnce` or `start`. */
export function createMaintainer(options: MaintainerOptions): Maintainer {
  const { db, schema } = options;
  const retentionDays = options.retentionDays ?? 0;

  async function sweep(): Promise<SweptTask[]> {
    const swept = await sweepExpiredTasks(db, { schema, backoff: options.backoff, now: options.now?.() });
    options.onSwept?.(swept);
    return swept;
  }

  async function retention(): Promise<number> {
    if (!(retentionDays > 0)) return 0;
    const now = options.now?.()?.getTime();
    const deleted = await deleteFinishedTasks(db, { schema, days: retentionDays, now });
    options.onDeleted?.(deleted, retentionDays);
    return deleted;
  }

  function reportingErrors(job: MaintenanceJob, run: () => Promise<unknown>): Promise<unknown> {
    return run().catch((error: unknown) => options.onError?.(error, job));
  }

  let periodic: Periodic | undefined;
  return {
    async runOnce() {
      const swept = await sweep();
      const deleted = await retention();
      return { swept, deleted };
    },
    start() {
      periodic ??= startPeriodic(
        () => Promise.all([reportingErrors('sweep', sweep), reportingErrors('retention', retention)]),
        options.intervalMs ?? DEFAULT_MAINTENANCE_INTERVAL_MS,
      );
    },
    async stop() {
      const stopping = periodic?.stop();
      periodic = undefined;
      await stopping;
    },
  };
}

/** The events of swept tasks: `task_failed` for those out of retries, else `task_requeued`. */
export function sweptTaskEvents(swept: readonly SweptTask[]): TaskEvent[] {
  return swept.map((task) =>
    createTaskEvent(task.status === 'FAILED' ? 'task_failed' : 'task_requeued', task),
  );
}

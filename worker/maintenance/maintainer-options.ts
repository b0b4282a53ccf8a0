/**
 * The maintainer's options and reports, apart so that its jobs (maintenance-jobs.ts) and its
 * loop (maintainer.ts) share them without importing each other.
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import type { SweptTask } from '../../src/core/execution/sweep.ts';
import type { RetryBackoff } from '../../src/core/retry-policy.ts';
import type { MaintenancePlan } from './maintenance-plan.ts';
import type { FiredTask } from './schedule-firing.ts';

/** The jobs of the maintainer; `plan` is the election-and-plan statement. */
export type MaintenanceJob = 'plan' | 'sweep' | 'retention' | 'schedules';

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
  /** Schedules fired: the tasks they created (after their commit). */
  onFired?: (tasks: FiredTask[]) => void;
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

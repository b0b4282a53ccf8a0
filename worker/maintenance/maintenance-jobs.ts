/**
 * The maintainer's jobs, each one step of a tick: the election-and-plan statement, the sweep,
 * retention in bounded passes, firing schedules, handing the lease on, and the operator's pass
 * outside the election (`task-worker sweep`). maintainer.ts decides when each runs. Edge-safe.
 * @module
 */
import {
  deleteFinishedTasks,
  deleteFinishedTasksInBatches,
  sweepExpiredTasks,
  type SweptTask,
} from '../../src/core/execution/sweep.ts';
import { DEFAULT_SCHEMA } from '../../src/core/schema-name.ts';
import { maintainerStatements } from '../../src/core/sql/maintainer-statements.ts';
import type { MaintainerOptions, MaintenanceReport } from './maintainer-options.ts';
import { planFromRow, type MaintenancePlan } from './maintenance-plan.ts';
import { fireDueSchedules, type FiredTask } from './schedule-firing.ts';

const HOUR_MS = 3_600_000;

/** Builds the jobs of the maintainer elected as `options.holder`. */
export function createMaintenanceJobs(options: MaintainerOptions & { holder: string }) {
  const { db, holder } = options;
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const retentionDays = options.retentionDays ?? 0;
  const retentionOn = retentionDays > 0;
  const retentionIntervalMs = options.retentionIntervalMs ?? HOUR_MS;
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
    const swept = await sweepExpiredTasks(db, {
      schema,
      backoff: options.backoff,
      now: options.now?.(),
      leader,
    });
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

  /** Fires the due schedules; the plan then holds the next fire time. */
  async function fireSchedules(planned: MaintenancePlan): Promise<FiredTask[]> {
    const now = new Date(planned.now);
    const result = await fireDueSchedules(db, { schema, leader: holder, now, nowParam: nowParam() });
    planned.nextScheduleAt = result.nextScheduleAt;
    if (result.fired.length > 0) {
      options.onFired?.(result.fired);
      options.onDue?.(planned);
    }
    return result.fired;
  }

  /** Ends this holder's lease, if it leads, so the next candidate takes over at once. */
  async function release(): Promise<void> {
    if (!leading) return;
    leading = false;
    await db.query(sql.maintainerRelease, [holder, nowParam()]).catch(() => undefined);
  }

  return { plan, sweep, retention, fireSchedules, release };
}

/** An operator's pass outside the election (`task-worker sweep`): sweep, then all retention. */
export async function operatorPass(options: MaintainerOptions): Promise<MaintenanceReport> {
  const { db } = options;
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const swept = await sweepExpiredTasks(db, { schema, backoff: options.backoff, now: options.now?.() });
  options.onSwept?.(swept);
  const days = options.retentionDays ?? 0;
  if (!(days > 0)) return { swept, deleted: 0 };
  const deleted = await deleteFinishedTasks(db, { schema, days, now: options.now?.()?.getTime() });
  options.onDeleted?.(deleted, days);
  return { swept, deleted };
}

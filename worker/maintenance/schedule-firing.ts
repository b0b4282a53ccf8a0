/**
 * Firing recurring schedules, as the elected maintainer: each due schedule's fire times since
 * its `next_fire_at`, reduced by its misfire policy (src/core/schedule.ts), become tasks in one
 * fenced statement per schedule; the unique (schedule_name, schedule_fire_at) index keeps it to
 * one task per fire time. Edge-safe.
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import { firesToRun, nextFireAfter, type MisfirePolicy } from '../../src/core/schedule.ts';
import { scheduleStatements } from '../../src/core/sql/schedule-statements.ts';
import { newTaskId } from '../../src/core/task-id.ts';

/** A task a schedule fire created. */
export interface FiredTask {
  id: string;
  queue: string;
  name: string;
  schedule: string;
  fireAt: Date;
}

/** What one firing pass did. */
export interface FiringResult {
  fired: FiredTask[];
  /** Fire times the misfire policy skipped. */
  skipped: number;
  /** When the next schedule fires now (null: none is active). */
  nextScheduleAt: number | null;
}

const BATCH = 100;

/**
 * Fires every schedule due at `now` (the database clock of the plan) as `leader`. `nowParam` is
 * the clock handed to SQL (null: the database's).
 */
export async function fireDueSchedules(
  db: Database,
  options: { schema: string; leader: string; now: Date; nowParam: string | null },
): Promise<FiringResult> {
  const sql = scheduleStatements(options.schema);
  const { now, leader, nowParam } = options;
  const result: FiringResult = { fired: [], skipped: 0, nextScheduleAt: null };
  const { rows } = await db.query(sql.scheduleDue, [now.toISOString(), BATCH]);
  for (const row of rows) {
    const schedule = {
      cron: row.cron as string,
      timezone: row.timezone as string,
      misfire: row.misfire as MisfirePolicy,
      misfireLimit: row.misfire_limit as number,
      misfireGraceSeconds: row.misfire_grace_seconds as number,
    };
    const due = new Date(row.next_fire_at as string | Date);
    const { run, skipped } = firesToRun(schedule, new Date(due.getTime() - 1), now);
    const next = nextFireAfter(schedule.cron, schedule.timezone, now);
    const { rows: updated } = await db.query(sql.scheduleFire, [
      leader,
      row.name,
      run.map(() => newTaskId()),
      run.map((time) => time.toISOString()),
      next?.toISOString() ?? null,
      skipped,
      due.toISOString(),
      nowParam,
    ]);
    const fired = (updated[0]?.fired ?? []) as Array<{
      id: string;
      queue: string;
      name: string;
      fire_at: string;
    }>;
    for (const task of fired) {
      result.fired.push({ ...task, schedule: row.name as string, fireAt: new Date(task.fire_at) });
    }
    if (updated[0]) result.skipped += skipped;
  }
  const { rows: next } = await db.query(sql.scheduleNextFire);
  result.nextScheduleAt = next[0]?.next ? new Date(next[0].next as string | Date).getTime() : null;
  return result;
}

/**
 * The maintainer's plan: what one election-and-plan statement returned, and when this
 * executor next needs the database. Pure functions; edge-safe.
 *
 * An executor needs the database when a pending task becomes due, when a running task's lease
 * ends (someone must sweep it; a follower waits for the leader's lease to end first, so a dead
 * leader is replaced within one lease), when a schedule fires, and when retention is next due. With nothing of that
 * in sight it sleeps for `idleMs` (a safety net for a lost notification), so an idle queue lets
 * a serverless database suspend.
 * @module
 */

/** One election-and-plan answer; times are epoch ms on the database clock. */
export interface MaintenancePlan {
  /** The database clock when the plan was made. */
  now: number;
  /** Whether this executor holds the leader lease now. */
  leading: boolean;
  /** The current leader (null before the first election). */
  holder: string | null;
  /** The leader's lease end (null before the first election). */
  leaseUntil: number | null;
  /** When the earliest pending task (of the served queues) becomes due; null when none is pending. */
  nextDue: number | null;
  /** The earliest lease end of a running task; null when none runs. */
  earliestLease: number | null;
  /** When retention is next due; null when retention is off. */
  retentionDueAt: number | null;
  /** The earliest fire time of a schedule that is not paused; null when none. */
  nextScheduleAt: number | null;
}

/** The plan statement's row, as the drivers return it. */
export function planFromRow(
  row: Record<string, unknown>,
  holder: string,
  retentionIntervalMs: number | null,
): MaintenancePlan {
  const time = (value: unknown): number | null =>
    value === null || value === undefined ? null : new Date(value as string | Date).getTime();
  const now = time(row.now)!;
  const retentionRanAt = time(row.retention_ran_at);
  return {
    now,
    leading: row.leading === true && row.holder === holder,
    holder: (row.holder as string | null) ?? null,
    leaseUntil: time(row.lease_until),
    nextDue: time(row.next_due),
    earliestLease: time(row.earliest_lease),
    nextScheduleAt: time(row.next_schedule),
    retentionDueAt:
      retentionIntervalMs === null
        ? null
        : retentionRanAt === null
          ? now
          : retentionRanAt + retentionIntervalMs,
  };
}

export interface WakeOptions {
  /** The cadence while something is due but waits (for a slot, for the leader): ms. */
  intervalMs: number;
  /** The longest sleep with nothing in sight: ms. */
  idleMs: number;
  /** A sweep runs this long after a lease ended (a heartbeat may be a moment late): ms. */
  sweepGraceMs: number;
  /** The last pass left work for the next one (retention stopped at its batch limit). */
  moreWork: boolean;
}

/** The shortest wait before the next plan, so a stuck "due" never spins. */
export const MIN_WAKE_MS = 10;

/** Milliseconds from the plan until this executor next needs the database. */
export function nextWakeMs(plan: MaintenancePlan, options: WakeOptions): number {
  const { now } = plan;
  const waits = [options.idleMs];
  if (options.moreWork) waits.push(options.intervalMs);
  // A time already past means "due, but this pass could not take it": look again at the cadence.
  const at = (time: number) => waits.push(time > now ? time - now : options.intervalMs);
  // Maintenance a follower may only do once the leader's lease ended.
  const maintain = (time: number) => {
    const leaderLeaseEnd = !plan.leading && plan.leaseUntil !== null ? plan.leaseUntil + 1 : 0;
    at(Math.max(time, leaderLeaseEnd));
  };
  if (plan.nextDue !== null) at(plan.nextDue);
  if (plan.earliestLease !== null) maintain(plan.earliestLease + options.sweepGraceMs);
  if (plan.retentionDueAt !== null) maintain(plan.retentionDueAt);
  if (plan.nextScheduleAt !== null) maintain(plan.nextScheduleAt);
  return Math.max(MIN_WAKE_MS, Math.min(...waits));
}

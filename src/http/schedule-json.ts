/**
 * The wire form of a recurring schedule: the {@link Schedule} fields, camelCase, with every
 * timestamp as an ISO 8601 string (UTC, milliseconds), like tasks (task-json.ts).
 * @module
 */
import type { Schedule } from '../core/service/schedule-client.ts';

// Distributes over unions, so `Date | null` becomes `string | null`.
type Wire<T> = T extends Date ? string : T;

/**
 * A schedule as the HTTP API sends it. Derived from `Schedule`, so a field added there must be
 * added to {@link scheduleToJson} too (the compiler insists).
 */
export type ScheduleJson = { [K in keyof Schedule]: Wire<Schedule[K]> };

function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}

/** Converts a schedule to its wire form. */
export function scheduleToJson(schedule: Schedule): ScheduleJson {
  return {
    name: schedule.name,
    cron: schedule.cron,
    timezone: schedule.timezone,
    task: schedule.task,
    args: schedule.args,
    kwargs: schedule.kwargs,
    options: { ...schedule.options },
    misfire: schedule.misfire,
    misfireLimit: schedule.misfireLimit,
    misfireGraceSeconds: schedule.misfireGraceSeconds,
    skipIfUnfinished: schedule.skipIfUnfinished,
    paused: schedule.paused,
    source: schedule.source,
    nextFireAt: iso(schedule.nextFireAt),
    lastFireAt: iso(schedule.lastFireAt),
    lastTaskId: schedule.lastTaskId,
    lastTaskStatus: schedule.lastTaskStatus,
    firedCount: schedule.firedCount,
    skippedCount: schedule.skippedCount,
    createdAt: schedule.createdAt.toISOString(),
    updatedAt: schedule.updatedAt.toISOString(),
  };
}

/**
 * Recurring schedules: a name, a cron expression (5 fields, or 6 with seconds) in an IANA time
 * zone, the task to create with its arguments and options, and what to do about fire times
 * missed while nothing ran (the misfire policy). Fire times come from `croner` (maintained,
 * dependency-free, edge-safe), never from a parser of our own. Edge-safe.
 * @module
 */
import { Cron } from 'croner';
import { TaskValidationError } from './errors.ts';
import type { JsonValue } from './task.ts';
import { validateTask, type TaskOptions } from './validate-task.ts';

/** What happens to fire times missed while no executor ran (or while behind). */
export type MisfirePolicy = 'skip' | 'last' | 'all';

/** A schedule as declared (in the tasks module, or through the client and the API). */
export interface ScheduleDefinition {
  /** Cron expression: `m h dom mon dow`, or with seconds first (6 fields). */
  cron: string;
  /** IANA time zone the expression is read in (default: UTC). */
  timezone?: string;
  /** The task name each fire creates. */
  task: string;
  args?: JsonValue[];
  kwargs?: Record<string, JsonValue>;
  /** Options of each created task (queue, priority, timeout, maxRetries). */
  options?: Pick<TaskOptions, 'queue' | 'priority' | 'timeout' | 'maxRetries'>;
  /**
   * Fire times missed by more than `misfireGraceSeconds` (an outage, every executor down):
   * `skip` them (default), run the `last` one, or run `all` of them up to `misfireLimit`.
   */
  misfire?: MisfirePolicy;
  /** Most missed fire times run under `all` (default: 10). */
  misfireLimit?: number;
  /** A fire this late still counts as on time (default: 60 seconds). */
  misfireGraceSeconds?: number;
  /** Skip a fire while the task of the previous one is unfinished (default: false). */
  skipIfUnfinished?: boolean;
  /** Created paused (default: false). */
  paused?: boolean;
}

/** A schedule definition with every default applied and checked. */
export interface ValidatedSchedule {
  name: string;
  cron: string;
  timezone: string;
  task: string;
  argsJson: string;
  kwargsJson: string;
  optionsJson: string;
  misfire: MisfirePolicy;
  misfireLimit: number;
  misfireGraceSeconds: number;
  skipIfUnfinished: boolean;
  paused: boolean;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const MISFIRE: readonly MisfirePolicy[] = ['skip', 'last', 'all'];

function invalid(field: string, message: string): never {
  throw new TaskValidationError('INVALID_SCHEDULE', field, message);
}

/** The croner job of a cron expression in a time zone; throws `INVALID_SCHEDULE` when either is bad. */
export function cronOf(cron: string, timezone = 'UTC'): Cron {
  if (typeof cron !== 'string' || cron.trim() === '') invalid('cron', 'cron must be a cron expression.');
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6)
    invalid('cron', `cron must have 5 or 6 fields, got ${fields}: "${cron}".`);
  try {
    Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    invalid('timezone', `Unknown time zone "${timezone}": use an IANA name such as Europe/Berlin.`);
  }
  try {
    return new Cron(cron, { timezone, paused: true });
  } catch (error) {
    return invalid('cron', `Invalid cron expression "${cron}": ${(error as Error).message}`);
  }
}

const TASK_OPTIONS: readonly string[] = ['queue', 'priority', 'timeout', 'maxRetries'];

/**
 * The task options a schedule keeps. Any other key is refused: spread into the task's
 * options it would override `args`/`kwargs`, or pass as a task option (`runAt`, `uniqueKey`)
 * that no fire applies.
 */
function taskOptionsOf(options: unknown): Record<string, unknown> {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    invalid('options', `options must be an object of ${TASK_OPTIONS.join(', ')}.`);
  }
  for (const key of Object.keys(options)) {
    if (!TASK_OPTIONS.includes(key)) {
      const shown = JSON.stringify(key.slice(0, 50));
      invalid(
        `options.${key.slice(0, 100)}`,
        `Unknown schedule task option ${shown}; known: ${TASK_OPTIONS.join(', ')}.`,
      );
    }
  }
  return options as Record<string, unknown>;
}

/** Checks a definition and applies defaults; the task part is checked like `createTask`. */
export function validateSchedule(name: string, definition: ScheduleDefinition): ValidatedSchedule {
  if (typeof name !== 'string' || !NAME.test(name)) {
    invalid('name', 'A schedule name is 1-128 characters: letters, digits, and _ . : - (not first).');
  }
  if (typeof definition !== 'object' || definition === null) invalid('schedule', 'A schedule is an object.');
  const timezone = definition.timezone ?? 'UTC';
  cronOf(definition.cron, timezone);
  const task = validateTask(definition.task, {
    args: definition.args,
    kwargs: definition.kwargs,
    ...taskOptionsOf(definition.options),
  });
  const misfire = definition.misfire ?? 'skip';
  if (!MISFIRE.includes(misfire)) invalid('misfire', 'misfire must be "skip", "last" or "all".');
  const misfireLimit = definition.misfireLimit ?? 10;
  if (!Number.isInteger(misfireLimit) || misfireLimit < 1 || misfireLimit > 1000) {
    invalid('misfireLimit', 'misfireLimit must be an integer from 1 to 1000.');
  }
  const grace = definition.misfireGraceSeconds ?? 60;
  if (typeof grace !== 'number' || !(grace >= 0) || grace > 86_400) {
    invalid('misfireGraceSeconds', 'misfireGraceSeconds must be 0 to 86400.');
  }
  const options = {
    queue: task.queue,
    priority: task.priority,
    timeout: task.timeout,
    maxRetries: task.maxRetries,
  };
  return {
    name,
    cron: definition.cron.trim(),
    timezone,
    task: task.name,
    argsJson: task.argsJson,
    kwargsJson: task.kwargsJson,
    optionsJson: JSON.stringify(options),
    misfire,
    misfireLimit,
    misfireGraceSeconds: grace,
    skipIfUnfinished: definition.skipIfUnfinished === true,
    paused: definition.paused === true,
  };
}

/** The first fire time strictly after `after` (null when the expression never fires again). */
export function nextFireAfter(cron: string, timezone: string, after: Date): Date | null {
  return cronOf(cron, timezone).nextRun(after);
}

/**
 * The fire times in `(after, until]`, oldest first, at most `limit` of the most recent ones
 * (older ones are dropped first), with how many there were in all.
 */
export function fireTimesBetween(
  cron: string,
  timezone: string,
  after: Date,
  until: Date,
  limit: number,
): { times: Date[]; total: number } {
  const job = cronOf(cron, timezone);
  const times: Date[] = [];
  let total = 0;
  for (let next = job.nextRun(after); next !== null && next <= until; next = job.nextRun(next)) {
    total++;
    times.push(next);
    if (times.length > limit) times.shift();
    if (total > 1_000_000) break; // a seconds schedule after a very long outage: enough counted
  }
  return { times, total };
}

/**
 * Which of the due fire times `(after, now]` to run, by policy: on time (within the grace) always
 * runs; older ones are skipped (`skip`), reduced to the latest (`last`), or kept up to the limit
 * (`all`). Returns them oldest first with the count skipped.
 */
export function firesToRun(
  schedule: Pick<ValidatedSchedule, 'cron' | 'timezone' | 'misfire' | 'misfireLimit' | 'misfireGraceSeconds'>,
  after: Date,
  now: Date,
): { run: Date[]; skipped: number } {
  const limit = schedule.misfire === 'all' ? schedule.misfireLimit : 1;
  const { times, total } = fireTimesBetween(schedule.cron, schedule.timezone, after, now, limit);
  const onTimeFrom = now.getTime() - schedule.misfireGraceSeconds * 1000;
  const run = schedule.misfire === 'skip' ? times.filter((time) => time.getTime() >= onTimeFrom) : times;
  return { run, skipped: total - run.length };
}

/** Declares schedules next to the tasks: checks each now, returns them unchanged. */
export function defineSchedules<const S extends Record<string, ScheduleDefinition>>(schedules: S): S {
  for (const [name, definition] of Object.entries(schedules)) validateSchedule(name, definition);
  return schedules;
}

/**
 * Managing recurring schedules at run time (the client's `schedules`, the HTTP API's
 * `/schedules`), and syncing the ones declared in a tasks module. The elected maintainer fires
 * them (worker/maintenance/schedule-firing.ts). Edge-safe.
 * @module
 */
import type { Database, Row } from '../database.ts';
import { ScheduleNotFoundError, TaskWorkerError } from '../errors.ts';
import type { MisfirePolicy, ScheduleDefinition, ValidatedSchedule } from '../schedule.ts';
import { scheduleStatements } from '../sql/schedule-statements.ts';
import type { JsonValue, TaskStatus } from '../task.ts';

/** A schedule as stored, with what it did last. */
export interface Schedule {
  name: string;
  cron: string;
  timezone: string;
  task: string;
  args: JsonValue[];
  kwargs: Record<string, JsonValue>;
  options: { queue: string; priority: number; timeout: number | null; maxRetries: number | null };
  misfire: MisfirePolicy;
  misfireLimit: number;
  misfireGraceSeconds: number;
  skipIfUnfinished: boolean;
  paused: boolean;
  /** `code`: declared in a tasks module and synced by workers; `api`: created at run time. */
  source: 'api' | 'code';
  /** The next fire time (null while paused or when the expression never fires again). */
  nextFireAt: Date | null;
  lastFireAt: Date | null;
  lastTaskId: string | null;
  /** The status of the last fire's task (null when none, or deleted by retention). */
  lastTaskStatus: TaskStatus | null;
  firedCount: number;
  skippedCount: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface ScheduleClient {
  /** Creates a schedule; `SCHEDULE_EXISTS` when the name is taken. */
  create(name: string, definition: ScheduleDefinition): Promise<Schedule>;
  /**
   * Replaces a schedule's definition (history kept; a paused one stays paused unless resumed,
   * `paused: true` pauses it); `SCHEDULE_NOT_FOUND` when unknown.
   */
  update(name: string, definition: ScheduleDefinition): Promise<Schedule>;
  /** Stops firing until resumed. */
  pause(name: string): Promise<Schedule>;
  /** Fires again from the next fire time after now (fires while paused are not made up). */
  resume(name: string): Promise<Schedule>;
  /** Deletes a schedule (its tasks stay); `SCHEDULE_NOT_FOUND` when unknown. */
  delete(name: string): Promise<void>;
  get(name: string): Promise<Schedule | null>;
  /** Every schedule by name, with its next fire time and last task's status. */
  list(): Promise<Schedule[]>;
  /**
   * Creates or updates schedules declared in code (`source: 'code'`); a paused one stays
   * paused. Schedules missing from `declared` are left alone: delete them explicitly.
   */
  sync(declared: Record<string, ScheduleDefinition>): Promise<Schedule[]>;
}

const date = (value: unknown): Date | null =>
  value === null || value === undefined ? null : new Date(value as string | Date);

/** A schedules row as a {@link Schedule}. */
export function scheduleFromRow(row: Row): Schedule {
  const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;
  const options = json<Record<string, unknown>>(row.options);
  return {
    name: row.name as string,
    cron: row.cron as string,
    timezone: row.timezone as string,
    task: row.task_name as string,
    args: json(row.args),
    kwargs: json(row.kwargs),
    options: {
      queue: (options.queue as string) ?? 'default',
      priority: (options.priority as number) ?? 0,
      timeout: options.timeout === undefined ? 300 : (options.timeout as number | null),
      maxRetries: (options.maxRetries as number | null) ?? null,
    },
    misfire: row.misfire as MisfirePolicy,
    misfireLimit: Number(row.misfire_limit),
    misfireGraceSeconds: Number(row.misfire_grace_seconds),
    skipIfUnfinished: row.skip_if_unfinished === true,
    paused: row.paused === true,
    source: row.source as 'api' | 'code',
    // The row keeps its time while paused, but resuming recomputes it from now: not a fire time.
    nextFireAt: row.paused === true ? null : date(row.next_fire_at),
    lastFireAt: date(row.last_fire_at),
    lastTaskId: (row.last_task_id as string | null) ?? null,
    lastTaskStatus: (row.last_task_status as TaskStatus | null | undefined) ?? null,
    firedCount: Number(row.fired_count),
    skippedCount: Number(row.skipped_count),
    createdAt: date(row.created_at)!,
    updatedAt: date(row.updated_at)!,
  };
}

/** The statement parameters of a validated schedule, `next` its first fire time. */
function params(schedule: ValidatedSchedule, source: 'api' | 'code', next: Date | null): unknown[] {
  return [
    schedule.name,
    schedule.cron,
    schedule.timezone,
    schedule.task,
    schedule.argsJson,
    schedule.kwargsJson,
    schedule.optionsJson,
    schedule.misfire,
    schedule.misfireLimit,
    schedule.misfireGraceSeconds,
    schedule.skipIfUnfinished,
    schedule.paused,
    source,
    next?.toISOString() ?? null,
  ];
}

/** The schedule client of `schema`; `now` is the clock of first fire times (default: `Date.now()`). */
export function createScheduleClient(
  db: Database,
  schema: string,
  now: () => Date = () => new Date(),
  /** A schedule may fire sooner than anything known: the cron Worker's due hint counts it. */
  changed: () => Promise<void> = async () => undefined,
): ScheduleClient {
  const sql = scheduleStatements(schema);
  // The cron library loads on first use: an edge bundle that never touches schedules (or
  // splits chunks) does not carry it.
  const cron = () => import('../schedule.ts');
  const validated = async (name: string, definition: ScheduleDefinition) => {
    const { validateSchedule, nextFireAfter } = await cron();
    const schedule = validateSchedule(name, definition);
    return { schedule, first: nextFireAfter(schedule.cron, schedule.timezone, now()) };
  };
  const found = (name: string, rows: Row[]): Schedule => {
    if (!rows[0]) throw new ScheduleNotFoundError(name);
    return scheduleFromRow(rows[0]);
  };
  const get = async (name: string) => {
    const { rows } = await db.query(sql.scheduleGet, [name]);
    return rows[0] ? scheduleFromRow(rows[0]) : null;
  };
  return {
    async create(name, definition) {
      const { schedule, first } = await validated(name, definition);
      const { rows } = await db.query(sql.scheduleInsert, params(schedule, 'api', first));
      if (!rows[0])
        throw new TaskWorkerError('SCHEDULE_EXISTS', `A schedule named "${name}" already exists.`);
      await changed();
      return scheduleFromRow(rows[0]);
    },
    async update(name, definition) {
      const { schedule, first } = await validated(name, definition);
      const updated = found(name, (await db.query(sql.scheduleUpdate, params(schedule, 'api', first))).rows);
      await changed();
      return updated;
    },
    async pause(name) {
      return found(name, (await db.query(sql.scheduleSetPaused, [name, true, null])).rows);
    },
    async resume(name) {
      const current = await get(name);
      if (!current) throw new ScheduleNotFoundError(name);
      const next = (await cron()).nextFireAfter(current.cron, current.timezone, now());
      const { rows } = await db.query(sql.scheduleSetPaused, [name, false, next?.toISOString() ?? null]);
      const resumed = found(name, rows);
      await changed();
      return resumed;
    },
    async delete(name) {
      const { rows } = await db.query(sql.scheduleDelete, [name]);
      if (rows.length === 0) throw new ScheduleNotFoundError(name);
    },
    get,
    async list() {
      return (await db.query(sql.scheduleList)).rows.map(scheduleFromRow);
    },
    async sync(declared) {
      const synced: Schedule[] = [];
      for (const [name, definition] of Object.entries(declared)) {
        const { schedule, first } = await validated(name, definition);
        const { rows } = await db.query(sql.scheduleUpsert, params(schedule, 'code', first));
        synced.push(scheduleFromRow(rows[0]!));
      }
      if (synced.length > 0) await changed();
      return synced;
    },
  };
}

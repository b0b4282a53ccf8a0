/**
 * Stores validated tasks: one prepared statement for a single task, one insert from a JSON
 * array of positional records for many. A bulk insert returns one row (the count and the
 * database's now()), or with a `uniqueKey` in the batch the id and two times of each row it
 * inserted; the client builds the rest of each {@link Task} from what it sent, and reads back
 * only the rows that conflicted (a `uniqueKey` hit or a re-run of the same ids). With a
 * LISTEN/NOTIFY notifier the insert statement also sends the new tasks' wake-ups.
 * @module
 */
import type { Database, Row } from '../database.ts';
import type { TaskStatements } from '../sql/task-statements.ts';
import { TaskWorkerError } from '../errors.ts';
import { taskFromRow, type JsonValue, type Task } from '../task.ts';
import { newTaskId } from '../task-id.ts';
import type { ValidatedTask } from '../validate-task.ts';
import type { PostgresNotifications } from '../events/task-events.ts';
import { insertDeduplicated, isDeduplicatedByFunction } from './insert-deduplicated.ts';

/** What one insert stored: every task in input order, and the ones this call created. */
export interface InsertedTasks {
  tasks: Task[];
  created: Task[];
  /** The insert statement itself sent the `task_created` wake-ups of `created`. */
  notified: boolean;
}

/**
 * Builds the `pg_notify` wake-ups of tasks about to be inserted, to send inside the insert;
 * `undefined` means publish after the commit instead.
 */
export type InsertNotifications = (
  tasks: readonly Pick<Task, 'id' | 'queue' | 'name' | 'attempt'>[],
) => PostgresNotifications | undefined;

// A uniqueKey holder can finish between the insert and the read of the conflicting rows (or a
// concurrent insert of the same key can be invisible to the insert's snapshot); running the
// (id-keyed, idempotent) insert again settles it.
const INSERT_ATTEMPTS = 3;

/**
 * One task as a positional record of the bulk insert, fields in `taskInsertMany`'s order;
 * `trace` is the trace context already as JSON (`null` without tracing).
 */
function recordJson(id: string, task: ValidatedTask, trace: string): string {
  return (
    `[${JSON.stringify(id)},${JSON.stringify(task.name)},${task.argsJson},${task.kwargsJson},` +
    `${JSON.stringify(task.queue)},${task.priority},${task.timeout ?? 'null'},${task.maxRetries ?? 'null'},` +
    `${task.runAt === null ? 'null' : JSON.stringify(task.runAt)},${task.delay},` +
    `${task.uniqueKey === null ? 'null' : JSON.stringify(task.uniqueKey)},` +
    `${task.concurrencyKey === null ? 'null' : JSON.stringify(task.concurrencyKey)},${task.concurrencyKeyLimit ?? 'null'},` +
    `${trace}]`
  );
}

/**
 * `run_at` of a task inserted at `nowUs` (epoch µs) as Postgres computes it: the given runAt,
 * or now() + make_interval(secs => delay), which rounds delay to whole µs half to even
 * (`rint`), floored to the millisecond like the drivers' Dates.
 */
function runAtMs(task: ValidatedTask, nowUs: number): number {
  if (task.runAt !== null) return Date.parse(task.runAt);
  const scaled = task.delay * 1e6;
  let delayUs = Math.round(scaled);
  if (delayUs - scaled === 0.5 && delayUs % 2 !== 0) delayUs -= 1;
  return Math.floor((nowUs + delayUs) / 1000);
}

/** The task as the insert stored it: the input plus the columns' defaults. */
function newTask(id: string, task: ValidatedTask, createdAtMs: number, runAtMs: number): Task {
  const createdAt = new Date(createdAtMs);
  return {
    id,
    name: task.name,
    args: JSON.parse(task.argsJson) as JsonValue[],
    kwargs: JSON.parse(task.kwargsJson) as Record<string, JsonValue>,
    queue: task.queue,
    priority: task.priority,
    status: 'PENDING',
    timeout: task.timeout,
    retryCount: 0,
    maxRetries: task.maxRetries,
    runAt: new Date(runAtMs),
    result: null,
    error: null,
    errorType: null,
    errorStack: null,
    errorHistory: [],
    progress: null,
    uniqueKey: task.uniqueKey,
    concurrencyKey: task.concurrencyKey,
    concurrencyKeyLimit: task.concurrencyKeyLimit,
    leaseUntil: null,
    workerId: null,
    attempt: 0,
    createdAt,
    updatedAt: new Date(createdAt.getTime()),
    startedAt: null,
    finishedAt: null,
    duration: null,
  };
}

function insertOneParams(id: string, task: ValidatedTask, traceContext: string | null): unknown[] {
  return [
    id,
    task.name,
    task.argsJson,
    task.kwargsJson,
    task.queue,
    task.priority,
    task.timeout,
    task.maxRetries,
    task.runAt,
    task.delay,
    task.uniqueKey,
    task.concurrencyKey,
    task.concurrencyKeyLimit,
    traceContext,
  ];
}

/** What a task is announced by before it is stored. */
const announced = (id: string, task: ValidatedTask) => ({
  id,
  queue: task.queue,
  name: task.name,
  attempt: 0,
});

async function insertOne(
  db: Database,
  sql: TaskStatements,
  task: ValidatedTask,
  notifications: InsertNotifications | undefined,
  traceContext: string | null,
): Promise<InsertedTasks> {
  const id = newTaskId();
  const params = insertOneParams(id, task, traceContext);
  const notify = notifications?.([announced(id, task)]);
  const [text, allParams] = notify
    ? [sql.taskInsertOneNotify, [...params, notify.channels, notify.messages]]
    : [sql.taskInsertOne, params];
  for (let attempt = 1; ; attempt++) {
    const { rows } = await db.query(text, allParams, { prepare: true });
    if (rows[0]) {
      const stored = taskFromRow(rows[0]);
      return { tasks: [stored], created: stored.id === id ? [stored] : [], notified: notify !== undefined };
    }
    if (attempt >= INSERT_ATTEMPTS) throw insertRace();
  }
}

async function insertMany(
  db: Database,
  sql: TaskStatements,
  validated: readonly ValidatedTask[],
  notifications: InsertNotifications | undefined,
  traceContext: string | null,
): Promise<InsertedTasks> {
  const ids = validated.map(() => newTaskId());
  const trace = JSON.stringify(traceContext);
  const payload = [`[${validated.map((task, i) => recordJson(ids[i] as string, task, trace)).join(',')}]`];
  if (!validated.some((task) => task.uniqueKey !== null)) {
    // Without a uniqueKey every task is created, so its wake-up can go out with the insert.
    const notify = notifications?.(validated.map((task, i) => announced(ids[i] as string, task)));
    const { rows } = notify
      ? await db.query(sql.taskInsertManyNotify, [...payload, notify.channels, notify.messages], {
          prepare: true,
        })
      : await db.query(sql.taskInsertMany, payload, { prepare: true });
    const inserted = Number(rows[0]?.inserted);
    if (inserted !== validated.length) {
      throw new TaskWorkerError('INSERT_FAILED', `Inserted ${inserted} of ${validated.length} tasks.`);
    }
    const nowUs = Number(rows[0]?.now_us);
    const createdAtMs = Math.floor(nowUs / 1000);
    const tasks = validated.map((task, i) =>
      newTask(ids[i] as string, task, createdAtMs, runAtMs(task, nowUs)),
    );
    return { tasks, created: tasks, notified: notify !== undefined };
  }
  for (let attempt = 1; ; attempt++) {
    const { rows } = await db.query(sql.taskInsertManyDeduplicated, payload, { prepare: true });
    const insertedRows = new Map<string, Row>();
    for (const row of rows) insertedRows.set(row.id as string, row);
    const tasks: (Task | undefined)[] = [];
    const created: Task[] = [];
    const missing: number[] = [];
    validated.forEach((task, i) => {
      const id = ids[i] as string;
      const row = insertedRows.get(id);
      if (row) {
        const stored = newTask(id, task, Number(row.created_at_ms), Number(row.run_at_ms));
        tasks.push(stored);
        created.push(stored);
      } else {
        tasks.push(undefined);
        missing.push(i);
      }
    });
    if (missing.length === 0 || (await resolveConflicts(db, sql, validated, ids, missing, tasks, created))) {
      return { tasks: tasks as Task[], created, notified: false };
    }
    if (attempt >= INSERT_ATTEMPTS) throw insertRace();
  }
}

/**
 * Fills in the inputs the insert skipped: the task already stored under the input's own id
 * (this call ran before), else the unfinished task holding its uniqueKey. False when one of
 * them has neither (its holder finished in between): the insert has to run again.
 */
async function resolveConflicts(
  db: Database,
  sql: TaskStatements,
  validated: readonly ValidatedTask[],
  ids: readonly string[],
  missing: readonly number[],
  tasks: (Task | undefined)[],
  created: Task[],
): Promise<boolean> {
  const missingIds = missing.map((i) => ids[i] as string);
  const keys = [
    ...new Set(missing.map((i) => validated[i]?.uniqueKey).filter((key): key is string => key != null)),
  ];
  const { rows } = await db.query(sql.taskInsertConflicts, [missingIds, keys], { prepare: true });
  const byId = new Map<string, Task>();
  const byKey = new Map<string, Task>();
  for (const row of rows) {
    const task = taskFromRow(row);
    byId.set(task.id, task);
    if (task.uniqueKey !== null && (task.status === 'PENDING' || task.status === 'PROGRESS')) {
      byKey.set(task.uniqueKey, task);
    }
  }
  for (const i of missing) {
    const own = byId.get(ids[i] as string);
    const key = validated[i]?.uniqueKey;
    const found = own ?? (key == null ? undefined : byKey.get(key));
    if (!found) return false;
    tasks[i] = found;
    // Stored under this call's own id by an earlier run of it: still created by this call.
    if (own) created.push(own);
  }
  return true;
}

function insertRace(): TaskWorkerError {
  return new TaskWorkerError('INSERT_RACE', 'Task insert kept racing with a concurrent uniqueKey insert.');
}

/**
 * Stores `validated` (in one statement) and returns the stored tasks in input order. With
 * `notifications`, the statement also sends the new tasks' wake-ups where it can (`notified`).
 * The tasks it creates carry `traceContext` (the creating span's; null without tracing).
 * Tasks of `uniqueMode` pending, throttle and debounce go through the `create_task` function
 * (`insertDeduplicated`); a batch mixing them with others takes a statement for each part.
 */
export async function insertTasks(
  db: Database,
  sql: TaskStatements,
  validated: readonly ValidatedTask[],
  notifications?: InsertNotifications,
  traceContext: string | null = null,
): Promise<InsertedTasks> {
  if (validated.length === 0) return { tasks: [], created: [], notified: false };
  if (validated.length === 1) {
    const task = validated[0] as ValidatedTask;
    if (!isDeduplicatedByFunction(task)) return await insertOne(db, sql, task, notifications, traceContext);
  } else if (!validated.some(isDeduplicatedByFunction)) {
    return await insertMany(db, sql, validated, notifications, traceContext);
  }
  return await insertWithModes(db, sql, validated, notifications, traceContext);
}

/** A batch with tasks of the function-stored modes: those through the function, the rest as usual. */
async function insertWithModes(
  db: Database,
  sql: TaskStatements,
  validated: readonly ValidatedTask[],
  notifications: InsertNotifications | undefined,
  traceContext: string | null,
): Promise<InsertedTasks> {
  const byFunction = validated.filter(isDeduplicatedByFunction);
  const plain = validated.filter((task) => !isDeduplicatedByFunction(task));
  const rest =
    plain.length === 0 ? undefined : await insertTasks(db, sql, plain, notifications, traceContext);
  const stored = await insertDeduplicated(db, sql, byFunction, traceContext);
  const tasks: Task[] = [];
  const created: Task[] = [...(rest?.created ?? [])];
  let [f, p] = [0, 0];
  for (const task of validated) {
    if (isDeduplicatedByFunction(task)) {
      const one = stored[f++] as { task: Task; created: boolean };
      tasks.push(one.task);
      if (one.created) created.push(one.task);
    } else tasks.push(rest?.tasks[p++] as Task);
  }
  // create_task sent the LISTEN/NOTIFY wake-ups of its tasks: only a LISTEN notifier has them.
  const notified = notifications !== undefined && (rest === undefined || rest.notified);
  return { tasks, created, notified };
}

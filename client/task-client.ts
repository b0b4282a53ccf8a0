/**
 * The client: creates, reads, cancels and waits for tasks. Edge-safe; talks to Postgres
 * through the injected {@link Database} port only.
 * @module
 */
import type { Database, Row } from '../src/database.ts';
import type { TaskArgs, TaskKwargs, TaskRegistry } from '../src/define-tasks.ts';
import { TaskNotFoundError, TaskValidationError, TaskWorkerError } from '../src/errors.ts';
import { DEFAULT_SCHEMA } from '../src/sql/schema-name.ts';
import { taskStatements } from '../src/sql/task-statements.ts';
import { isFinalStatus, taskFromRow, type Task } from '../src/task.ts';
import { assertTaskId, newTaskId } from '../src/task-id.ts';
import { TASK_LIMITS, validateTask, type TaskOptions, type ValidatedTask } from '../src/validate-task.ts';

/** Options of one task, typed from its handler when the client knows the registry. */
export type CreateTaskOptions<F = (...args: unknown[]) => unknown> = Omit<TaskOptions, 'args' | 'kwargs'> &
  ([] extends TaskArgs<F> ? { args?: TaskArgs<F> } : { args: TaskArgs<F> }) & { kwargs?: TaskKwargs<F> };

/** One entry of `createTasks`. */
export type TaskRequest<R extends TaskRegistry = TaskRegistry> = {
  [N in keyof R & string]: { name: N } & CreateTaskOptions<R[N]>;
}[keyof R & string];

export interface WaitOptions {
  /** Seconds to wait before resolving with `null` (default: 30). */
  timeout?: number;
}

/** What `createClient` returns. `R` is the registry type for compile-time checks. */
export interface TaskClient<R extends TaskRegistry = TaskRegistry> {
  /** Stores a task (one SQL round trip) and returns it. With `uniqueKey`, may return an existing task. */
  createTask<N extends keyof R & string>(name: N, ...options: OptionsArg<R[N]>): Promise<Task>;
  /** Stores many tasks in one statement; returns them in input order. */
  createTasks(tasks: readonly TaskRequest<R>[]): Promise<Task[]>;
  /** The task, or `null` when no task has this id. */
  getTask(id: string): Promise<Task | null>;
  /** Cancels a `PENDING` or `PROGRESS` task; returns it (unchanged when already final). */
  cancelTask(id: string): Promise<Task>;
  /** Resolves with the task once it is final, or `null` after `timeout` seconds. */
  waitForCompletion(id: string, options?: WaitOptions): Promise<Task | null>;
  /** Closes the database driver if the client created it. */
  close(): Promise<void>;
}

// `args` is required (so the options object is too) when the handler takes arguments.
type OptionsArg<F> =
  [] extends TaskArgs<F> ? [options?: CreateTaskOptions<F>] : [options: CreateTaskOptions<F>];

export interface TaskClientConfig {
  database: Database;
  /** Schema holding the tables (default: task_worker). */
  schema?: string;
  /** Largest `args` + `kwargs` in bytes of JSON (default: 1 MiB). */
  maxPayloadBytes?: number;
  /** Close `database` on `close()` (default: false). */
  ownsDatabase?: boolean;
  /** Injected for tests (default: real timers). */
  sleep?: (ms: number) => Promise<void>;
}

const DEFAULT_WAIT_SECONDS = 30;
const POLL_FIRST_MS = 25;
const POLL_MAX_MS = 1000;
// A concurrent insert with the same uniqueKey can leave the statement's snapshot without the
// winner's row; re-running the (idempotent, id-keyed) statement sees it.
const INSERT_ATTEMPTS = 3;

function recordJson(id: string, task: ValidatedTask): string {
  return (
    `{"id":${JSON.stringify(id)},"name":${JSON.stringify(task.name)},"args":${task.argsJson},` +
    `"kwargs":${task.kwargsJson},"queue":${JSON.stringify(task.queue)},"priority":${task.priority},` +
    `"timeout":${task.timeout ?? 'null'},"max_retries":${task.maxRetries ?? 'null'},` +
    `"run_at":${task.runAt === null ? 'null' : JSON.stringify(task.runAt)},"delay":${task.delay},` +
    `"unique_key":${task.uniqueKey === null ? 'null' : JSON.stringify(task.uniqueKey)}}`
  );
}

/** Builds a client over an injected database. Most code calls `createClient` instead. */
export function createTaskClient<R extends TaskRegistry = TaskRegistry>(
  config: TaskClientConfig,
): TaskClient<R> {
  const db = config.database;
  const sql = taskStatements(config.schema ?? DEFAULT_SCHEMA);
  const maxPayloadBytes = config.maxPayloadBytes ?? TASK_LIMITS.maxPayloadBytes;
  const sleep = config.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  async function insert(validated: readonly ValidatedTask[]): Promise<Task[]> {
    if (validated.length === 0) return [];
    const ids = validated.map(() => newTaskId());
    const payload = `[${validated.map((task, i) => recordJson(ids[i] as string, task)).join(',')}]`;
    for (let attempt = 1; ; attempt++) {
      const { rows } = await db.query(sql.taskInsertMany, [payload]);
      if (rows.length === validated.length) return rows.map(taskFromRow);
      if (attempt >= INSERT_ATTEMPTS) {
        throw new TaskWorkerError(
          'INSERT_RACE',
          'Task insert kept racing with a concurrent uniqueKey insert.',
        );
      }
    }
  }

  async function getRow(id: string): Promise<Row | undefined> {
    const { rows } = await db.query(sql.taskGet, [assertTaskId(id)]);
    return rows[0];
  }

  return {
    async createTask(name, ...[options]) {
      const [task] = await insert([validateTask(name, options as TaskOptions | undefined, maxPayloadBytes)]);
      return task as Task;
    },

    async createTasks(tasks) {
      if (!Array.isArray(tasks)) {
        throw new TaskValidationError('INVALID_OPTIONS', 'tasks', 'createTasks expects an array of tasks.');
      }
      const validated = tasks.map((entry, index) => {
        try {
          if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
            throw new TaskValidationError(
              'INVALID_OPTIONS',
              'options',
              'each task must be an object with a name.',
            );
          }
          const { name, ...options } = entry as { name: unknown } & TaskOptions;
          return validateTask(name, options, maxPayloadBytes);
        } catch (error) {
          if (error instanceof TaskValidationError) {
            throw new TaskValidationError(
              error.code,
              `tasks[${index}].${error.field}`,
              `tasks[${index}]: ${error.message}`,
            );
          }
          throw error;
        }
      });
      return await insert(validated);
    },

    async getTask(id) {
      const row = await getRow(id);
      return row ? taskFromRow(row) : null;
    },

    async cancelTask(id) {
      const { rows } = await db.query(sql.taskCancel, [assertTaskId(id)]);
      if (!rows[0]) throw new TaskNotFoundError(id);
      return taskFromRow(rows[0]);
    },

    async waitForCompletion(id, options = {}) {
      const seconds = options.timeout ?? DEFAULT_WAIT_SECONDS;
      if (typeof seconds !== 'number' || !(seconds >= 0) || !Number.isFinite(seconds)) {
        throw new TaskValidationError(
          'INVALID_TIMEOUT',
          'timeout',
          `timeout must be a number of seconds >= 0, got ${String(seconds)}.`,
        );
      }
      const deadline = Date.now() + seconds * 1000;
      let delay = POLL_FIRST_MS;
      for (;;) {
        const row = await getRow(id);
        if (!row) throw new TaskNotFoundError(id);
        const task = taskFromRow(row);
        if (isFinalStatus(task.status)) return task;
        const left = deadline - Date.now();
        if (left <= 0) return null;
        await sleep(Math.min(delay, left));
        delay = Math.min(delay * 1.5, POLL_MAX_MS);
      }
    },

    async close() {
      if (config.ownsDatabase) await db.close();
    },
  };
}

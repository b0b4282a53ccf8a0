/**
 * The client: creates, reads, cancels and waits for tasks. Edge-safe; talks to Postgres
 * through the injected {@link Database} port only.
 * @module
 */
import type { Database, Query, Row } from '../database.ts';
import type { DueHint } from '../due-hint.ts';
import type { Notifier } from '../notifier.ts';
import {
  createTaskEvent,
  publishTaskEvents,
  taskCreatedEvents,
  taskCreatedNotifications,
  type PublishTaskEventsOptions,
  type TaskEvent,
} from '../events/task-events.ts';
import { taskQueryStatements } from '../sql/task-query-statements.ts';
import type { TaskArgs, TaskKwargs, TaskRegistry } from '../define-tasks.ts';
import { TaskNotFoundError } from '../errors.ts';
import { DEFAULT_SCHEMA } from '../schema-name.ts';
import { taskStatements } from '../sql/task-statements.ts';
import { taskFromRow, type Task } from '../task.ts';
import { assertTaskId } from '../task-id.ts';
import { taskCreatorInTransaction, type CreateTaskWithResult } from './create-task-in-transaction.ts';
import { markExistingTasks } from './existing-tasks.ts';
import { insertTasks, type InsertNotifications } from './insert-tasks.ts';
import { createQueueLimitsClient, type QueueLimitsClient } from './queue-limits.ts';
import {
  createDeadLetterClient,
  type FailureReason,
  type FailureReasonsOptions,
  type RedriveFailedOptions,
  type RedriveFailedResult,
} from './redrive-failed.ts';
import { requeueFinalTask } from './retry-task.ts';
import { createScheduleClient, type ScheduleClient } from './schedule-client.ts';
import { validateTaskBatch } from './validate-task-batch.ts';
import { waitForCompletion, type WaitOptions } from './wait-for-completion.ts';
import { TASK_LIMITS, validateTask, type TaskOptions, type ValidatedTask } from '../validate-task.ts';
import { createTracing, type CreateTracing } from '../tracing/create-spans.ts';
import type { TracingApi } from '../tracing/otel-api.ts';

export type { WaitOptions } from './wait-for-completion.ts';

/** Options of one task, typed from its handler when the client knows the registry. */
export type CreateTaskOptions<F = (...args: unknown[]) => unknown> = Omit<TaskOptions, 'args' | 'kwargs'> &
  ([] extends TaskArgs<F> ? { args?: TaskArgs<F> } : { args: TaskArgs<F> }) & { kwargs?: TaskKwargs<F> };

/** One entry of `createTasks`. */
export type TaskRequest<R extends TaskRegistry = TaskRegistry> = {
  [N in keyof R & string]: { name: N } & CreateTaskOptions<R[N]>;
}[keyof R & string];

/**
 * What `createClient` returns. `R` is the registry type for compile-time checks. Queue limits
 * (`setQueueLimits`, `getQueueLimits`, `listQueueLimits`, `clearQueueLimits`): see queue-limits.ts.
 */
export interface TaskClient<R extends TaskRegistry = TaskRegistry> extends QueueLimitsClient {
  /** Stores a task (one SQL round trip) and returns it. With `uniqueKey`, may return an existing task. */
  createTask<N extends keyof R & string>(name: N, ...options: OptionsArg<R[N]>): Promise<Task>;
  /** Stores many tasks in one statement; returns them in input order. */
  createTasks(tasks: readonly TaskRequest<R>[]): Promise<Task[]>;
  /**
   * Runs `queries`, then stores a task, in one transaction (one request over Neon HTTP): the
   * task exists only if every statement succeeds. Validates like `createTask`, then calls the
   * `create_task` SQL function (migration 8), whose wake-ups reach LISTEN workers with the
   * commit even when this client has no notifier.
   */
  createTaskWith<N extends keyof R & string>(
    queries: readonly Query[],
    name: N,
    ...options: OptionsArg<R[N]>
  ): Promise<CreateTaskWithResult>;
  /** The task, or `null` when no task has this id. */
  getTask(id: string): Promise<Task | null>;
  /** Cancels a `PENDING` or `PROGRESS` task; returns it (unchanged when already final). */
  cancelTask(id: string): Promise<Task>;
  /**
   * Moves a final task (`COMPLETED`, `FAILED`, `CANCELLED`) back to `PENDING`, due now, with
   * a fresh retry budget. Throws `TASK_NOT_FINAL` for a pending or running task, and
   * `UNIQUE_KEY_CONFLICT` when another unfinished task holds its uniqueKey.
   */
  retryTask(id: string): Promise<Task>;
  /**
   * Resolves with the task once it is final, or `null` after `timeout` seconds. With a
   * notifier it subscribes to the task's own channel first, then reads the row, so a task
   * that finished before or during the call is never missed; without one, or while the
   * notifier is down, it polls with back-off.
   */
  waitForCompletion(id: string, options?: WaitOptions): Promise<Task | null>;
  /**
   * Dead letters: moves up to `limit` (1,000) `FAILED` tasks matching the filters back to
   * `PENDING` like `retryTask`, in batches; skips those whose uniqueKey is held; `dryRun` counts.
   */
  redriveFailed(options?: RedriveFailedOptions): Promise<RedriveFailedResult>;
  /** Dead letters: the matching `FAILED` tasks grouped by error type, biggest group first. */
  failureReasons(options?: FailureReasonsOptions): Promise<FailureReason[]>;
  /** Recurring schedules: create, update, pause, resume, delete, list (with next fire times). */
  readonly schedules: ScheduleClient;
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
  /**
   * Publishes task events after each commit and lets `waitForCompletion` subscribe instead
   * of polling (default: none, polling only). A publish failure never fails a call.
   */
  notifier?: Notifier;
  /** Close `notifier` on `close()` (default: false). */
  ownsNotifier?: boolean;
  /**
   * Hands publishes to the platform so calls return right after the database commit, e.g.
   * `ctx.waitUntil.bind(ctx)` in Workers or `waitUntil` from `@vercel/functions`
   * (default: publishes are awaited).
   */
  waitUntil?: (promise: Promise<unknown>) => void;
  /** Receives failed publishes (default: `console.warn`). */
  onNotifyError?: PublishTaskEventsOptions['onError'];
  /**
   * The Cloudflare cron executor's "anything due?" hint: each call that creates or requeues
   * tasks counts a change there after its commit, so a cron tick asks the database only when
   * something changed (default: none). Like a publish, it never fails a call.
   */
  dueHint?: DueHint;
  /** Receives failures to count a change in `dueHint` (default: `console.warn`). */
  onDueHintError?: (error: unknown) => void;
  /**
   * OpenTelemetry: the `@opentelemetry/api` module (`import * as otel from
   * '@opentelemetry/api'`). Each create runs in a PRODUCER span whose context the tasks store,
   * and workers continue that trace. Default: the package if it can be imported here (Node, Bun,
   * Deno; pass it on edge runtimes); `false`: off. Nothing is recorded until an SDK is registered.
   */
  tracing?: TracingApi | false;
}

/** Builds a client over an injected database. Most code calls `createClient` instead. */
export function createTaskClient<R extends TaskRegistry = TaskRegistry>(
  config: TaskClientConfig,
): TaskClient<R> {
  const db = config.database;
  const schema = config.schema ?? DEFAULT_SCHEMA;
  const sql = taskStatements(schema);
  const maxPayloadBytes = config.maxPayloadBytes ?? TASK_LIMITS.maxPayloadBytes;
  const queries = taskQueryStatements(schema);
  const notifier = config.notifier;
  const publish = eventPublisher(config, schema);
  const markChange = dueHintMarker(config);
  const createInTransaction = taskCreatorInTransaction(db, schema, maxPayloadBytes);
  const traced = createTracing(config.tracing);

  const insert = taskInserter({ db, schema, notifier, publish, markChange, traced });

  async function getRow(id: string): Promise<Row | undefined> {
    const { rows } = await db.query(sql.taskGet, [assertTaskId(id)], { prepare: true });
    return rows[0];
  }

  return {
    ...createQueueLimitsClient(db, schema),
    ...createDeadLetterClient({ db, schema, publish, markChange }),

    async createTask(name, ...[options]) {
      const [task] = await insert([validateTask(name, options as TaskOptions | undefined, maxPayloadBytes)]);
      return task as Task;
    },

    async createTasks(tasks) {
      return await insert(validateTaskBatch(tasks, maxPayloadBytes));
    },

    async createTaskWith(queries, name, ...[options]) {
      const validated = validateTask(name, options as TaskOptions | undefined, maxPayloadBytes);
      return await traced(
        [validated],
        async (traceContext) => {
          const result = await createInTransaction(queries, validated, traceContext);
          // create_task notified LISTEN workers with the commit; other notifiers hear of it now.
          if (result.created && !notifier?.postgresChannel) await publish(taskCreatedEvents([result.task]));
          if (result.created) await markChange();
          return result;
        },
        (result) => [{ id: result.task.id, created: result.created }],
      );
    },

    async getTask(id) {
      const row = await getRow(id);
      return row ? taskFromRow(row) : null;
    },

    async cancelTask(id) {
      const { rows } = await db.query(sql.taskCancel, [assertTaskId(id)]);
      if (!rows[0]) throw new TaskNotFoundError(id);
      const task = taskFromRow(rows[0]);
      if (rows[0].changed === true) await publish([createTaskEvent('task_cancelled', task)]);
      return task;
    },

    async retryTask(id) {
      const task = await requeueFinalTask(db, queries.taskRetry, id);
      await publish([createTaskEvent('task_requeued', task)]);
      await markChange();
      return task;
    },

    async waitForCompletion(id, options = {}) {
      return await waitForCompletion({ schema, notifier, getRow }, id, options);
    },

    schedules: createScheduleClient(db, schema, undefined, markChange),

    async close() {
      if (config.ownsNotifier) await notifier?.close();
      if (config.ownsDatabase) await db.close();
    },
  };
}

/**
 * Inserts validated tasks, then announces the ones it created (a uniqueKey hit returns an older
 * task, already announced) and counts the change in the due hint. With a LISTEN/NOTIFY
 * notifier the wake-ups go out inside the insert, with its commit. All of it runs in the
 * call's create span when tracing is on.
 */
function taskInserter(parts: {
  db: Database;
  schema: string;
  notifier: Notifier | undefined;
  publish: (events: TaskEvent[]) => Promise<void>;
  markChange: () => Promise<void>;
  traced: CreateTracing;
}): (validated: readonly ValidatedTask[]) => Promise<Task[]> {
  const { db, schema, notifier, publish, markChange, traced } = parts;
  const sql = taskStatements(schema);
  const notifications: InsertNotifications | undefined = notifier?.postgresChannel
    ? (created) => taskCreatedNotifications(notifier, schema, created)
    : undefined;
  const insert = async (validated: readonly ValidatedTask[], traceContext: string | null) => {
    const inserted = await insertTasks(db, sql, validated, notifications, traceContext);
    markExistingTasks(inserted.tasks, inserted.created);
    if (notifier && !inserted.notified) await publish(taskCreatedEvents(inserted.created));
    if (inserted.created.length > 0) await markChange();
    return inserted;
  };
  return async (validated) => {
    const { tasks } = await traced(
      validated,
      (traceContext) => insert(validated, traceContext),
      ({ tasks: [task], created }) => (task ? [{ id: task.id, created: created[0] === task }] : []),
    );
    return tasks;
  };
}

/**
 * Counts a change in the due hint after a commit, like a publish: awaited or handed to
 * `config.waitUntil`, a failure reported to `config.onDueHintError`; a no-op without a hint.
 */
function dueHintMarker(config: TaskClientConfig): () => Promise<void> {
  const hint = config.dueHint;
  const report =
    config.onDueHintError ??
    ((error: unknown) => console.warn('edge-task-worker: due hint not counted:', error));
  return () => {
    if (!hint) return Promise.resolve();
    const marked = hint.mark().catch((error: unknown) => report(error));
    if (!config.waitUntil) return marked.then(() => undefined);
    config.waitUntil(marked);
    return Promise.resolve();
  };
}

/**
 * Publishes task events after a commit: awaited, or handed to `config.waitUntil`; a no-op
 * without a notifier. A failed publish goes to `config.onNotifyError`, never to the caller.
 */
function eventPublisher(config: TaskClientConfig, schema: string): (events: TaskEvent[]) => Promise<void> {
  const notifier = config.notifier;
  return (events) => {
    if (!notifier || events.length === 0) return Promise.resolve();
    const published = publishTaskEvents(notifier, schema, events, { onError: config.onNotifyError }).then(
      () => undefined,
    );
    if (!config.waitUntil) return published;
    config.waitUntil(published);
    return Promise.resolve();
  };
}

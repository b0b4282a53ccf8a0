/**
 * The container worker: a composition of parts with one job each, started here once the
 * tasks module loaded and the schema checked out (worker-startup.ts), and stopped in the order
 * worker-shutdown.ts gives:
 * - the producer claims tasks sized to free slots (producer.ts), woken by the notifier
 *   (wake-up-subscriptions.ts) or its poll timer;
 * - the executor runs them, in threads it kills at their timeout (executor-pool.ts) or in
 *   process (in-process-executor.ts), tracked from dispatch to write-back (running-tasks.ts);
 * - the completer writes outcomes back in fenced batches (completer.ts);
 * - the lease keeper extends the leases of held tasks (lease-keeper.ts);
 * - a cancelled task's run is stopped, told by a notification or the heartbeat (cancelled-runs.ts);
 * - the maintainer sweeps expired leases and applies retention (worker/maintenance/).
 * @module
 */
import { hostname } from 'node:os';
import { createPgDatabase } from '../../src/adapters/node/pg-database.ts';
import type { Database } from '../../src/core/database.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { landedTaskEvents } from '../../src/core/execution/write-back.ts';
import { workerStatements, type WorkerStatements } from '../../src/core/sql/worker-statements.ts';
import type { DueHint } from '../../src/core/due-hint.ts';
import type { CancelledRuns } from './cancelled-runs.ts';
import type { Maintainer } from '../maintenance/maintainer.ts';
import { Completer } from './completer.ts';
import type { Executor, ExecutorOptions } from './executor.ts';
import { ExecutorPool } from './executor-pool.ts';
import { InProcessExecutor } from './in-process-executor.ts';
import { createLeaseKeeping } from './lease-keeping.ts';
import { tasksModuleUrl } from './load-tasks.ts';
import { createLogger, toLogger, type Logger } from './logger.ts';
import { Producer } from './producer.ts';
import { createPutBack } from './put-back.ts';
import { RunningTasks } from './running-tasks.ts';
import { TaskEventPublisher } from './task-event-publisher.ts';
import { unannouncedTasks } from './unannounced-tasks.ts';
import { subscribeWakeUps } from './wake-up-subscriptions.ts';
import { createWorkerMaintainer } from './worker-maintainer.ts';
import { workerObservation } from './worker-observation.ts';
import type { WorkerObserver } from './worker-observer.ts';
import { resolveWorkerOptions, type ResolvedWorkerOptions, type WorkerOptions } from './worker-options.ts';
import { createShutdown, type Shutdown } from './worker-shutdown.ts';
import { startUp } from './worker-startup.ts';
import { emptyWorkerStats, type WorkerStats } from './worker-stats.ts';
import { logWriteBack } from './write-back-log.ts';

export type { WorkerOptions } from './worker-options.ts';
export type { WorkerStats } from './worker-stats.ts';

export interface WorkerHandle {
  readonly workerId: string;
  /** Task names the tasks module registers. */
  readonly taskNames: readonly string[];
  /**
   * Stops claiming, lets running tasks finish for `grace` seconds (default: the worker's),
   * puts back the rest (fenced), writes everything back and closes. Idempotent.
   */
  stop(options?: { grace?: number }): Promise<void>;
  /** Puts every running task back at once and closes (the second Ctrl-C). */
  kill(): Promise<void>;
  /** Resolves when the worker has stopped. */
  readonly stopped: Promise<void>;
  stats(): WorkerStats;
}

/** Starts a worker. Resolves once its threads have loaded the tasks module. */
export async function runWorker(input: WorkerOptions): Promise<WorkerHandle> {
  const { options, logger, workerId, db, closeDatabase } = workerBasics(input);
  const { schema } = options;
  const sql = workerStatements(schema);
  const now = () => options.now?.()?.toISOString() ?? null;
  const stats = emptyWorkerStats();
  const { observer, runTrace, stopped } = await workerObservation(input, {
    ...{ db, schema, workerId, logger, concurrency: options.concurrency, running: () => stats.running },
    ...{ executor: () => executor, listening: () => listen.on },
  });
  const publisher = new TaskEventPublisher({ notifier: input.notifier, schema, logger });
  // What most parts need: the database, its statements, who this worker is, the clock, the log.
  const context = { db, sql, workerId, now, logger };
  const changed = dueHintMarker(input.dueHint, logger);
  const putBack = createPutBack({ ...context, publisher, onPutBack: changed });
  const unannounced = unannouncedTasks(logger);

  const executor = createExecutor(options, {
    logger,
    onSlotFree: () => producer.slotFreed(),
    onProgress: progressSaver({ ...context, run: (token) => running.byToken(token) }),
    runTrace,
  });
  const registered = () => taskNames;
  // A retry is due after its back-off: the maintainer plans when, cron runs look again.
  const retried = () => {
    maintainer.poke();
    void changed();
  };
  const completer = createCompleter({ ...context, options, stats, publisher, registered, retried, observer });
  const running = new RunningTasks({
    ...{ executor, completer, publisher, logger, stats, observer },
    onFinished: (duration) => producer.recordDuration(duration),
  });
  const producer = new Producer({
    ...{ ...context, options },
    freeSlots: () => executor.freeSlots,
    dispatch: (task) => running.start(task),
    release: putBack,
    listening: () => listen.on,
    // While listening, an empty claim asks the plan when to look again; while polling, the
    // next poll looks anyway.
    onEmptyClaim: () => {
      if (listen.on) maintainer.poke();
    },
    onClaimed: (tasks, limited) => {
      observer.claimed(tasks);
      unannounced.claimed(tasks, limited);
    },
  });
  const keeping = { ...context, schema, lease: options.lease, running, producer };
  const { cancels, leaseKeeper } = createLeaseKeeping(keeping);
  // Whether notifications reach this worker: then idle sleeps are long (see maintainer.ts).
  const listen = { on: false };
  const maintainer = createWorkerMaintainer({
    ...{ db, workerId, options, logger, publisher, listen, observer, unannounced },
    idle: () => executor.freeSlots === options.concurrency,
    onRequeued: () => void changed(),
    wake: () => producer.wake(),
  });

  const { waitForDatabase, signal } = options;
  const { taskNames, analyzed } = await startUp({
    ...{ db, sql, schema, executor, logger, waitForDatabase, signal },
    close: () => executor.close().then(closeDatabase),
  });
  leaseKeeper.start();
  maintainer.start();
  producer.start();
  const wakeUpParts = { logger, producer, cancels, maintainer, listen };
  const unsubscribe = await listenForWakeUps(input, options, wakeUpParts);
  logger.log('info', 'worker_started', startedFields(workerId, options, input, taskNames));

  const shutdown = createShutdown({
    ...{ workerId, logger, stats, producer, running, leaseKeeper, maintainer, unsubscribe },
    ...{ putBack, completer, analyzed, publisher, executor, closeDatabase },
  });
  void shutdown.stopped.then(stopped);
  return workerHandle({ workerId, taskNames, stats, shutdown, grace: options.grace });
}

/** Subscribes to the notifier: wake-ups for the producer, cancellations, whether it listens. */
function listenForWakeUps(
  input: WorkerOptions,
  options: ResolvedWorkerOptions,
  parts: {
    logger: Logger;
    producer: Producer;
    cancels: CancelledRuns;
    maintainer: Maintainer;
    listen: { on: boolean };
  },
): Promise<() => Promise<void>> {
  const { producer, cancels, maintainer, listen } = parts;
  return subscribeWakeUps({
    ...{ notifier: input.notifier, schema: options.schema, queues: options.queues, logger: parts.logger },
    wake: () => producer.wake(),
    onCancelled: (taskId) => void cancels.heard(taskId),
    onListening: (now) => {
      if (now !== listen.on) maintainer.poke(); // re-plan with the new idle length
      listen.on = now;
    },
  });
}

/** The options resolved, the log, the worker's id and its database (and how to close it). */
function workerBasics(input: WorkerOptions) {
  const options = resolveWorkerOptions(input);
  if (!input.database && !input.databaseUrl)
    throw new ConfigError('runWorker needs database or databaseUrl.');
  const logger: Logger = input.logger ? toLogger(input.logger, 'worker') : createLogger();
  const workerId = input.workerId ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 6)}`;
  const db: Database = input.database ?? createPgDatabase(poolOptions(input.databaseUrl, workerId));
  const closeDatabase = () => (input.database ? Promise.resolve() : db.close());
  return { options, logger, workerId, db, closeDatabase };
}

/** The handle `runWorker` resolves with. */
function workerHandle(parts: {
  workerId: string;
  taskNames: readonly string[];
  stats: WorkerStats;
  shutdown: Shutdown;
  /** The worker's grace, for a `stop()` that names none. */
  grace: number;
}): WorkerHandle {
  const { workerId, taskNames, stats, shutdown, grace } = parts;
  return {
    workerId,
    taskNames,
    stopped: shutdown.stopped,
    stats: () => ({ ...stats }),
    stop: (stopOptions = {}) => shutdown.stop(stopOptions.grace ?? grace),
    kill: () => shutdown.kill(),
  };
}

/** Counts a change in the cron Worker's due hint, if one is given; never rejects. */
function dueHintMarker(hint: DueHint | undefined, logger: Logger): () => Promise<void> {
  return async () => {
    await hint
      ?.mark()
      .catch((error: unknown) => logger.log('debug', 'due_hint_not_counted', { error: String(error) }));
  };
}

/** The node-postgres pool of a worker given a URL. */
function poolOptions(connectionString: string | undefined, workerId: string) {
  return { connectionString, max: 4, applicationName: `task-worker ${workerId}` };
}

/** The completer: fenced, batched write-backs, each logged and counted, then published. */
function createCompleter(context: {
  db: Database;
  sql: WorkerStatements;
  workerId: string;
  logger: Logger;
  options: ResolvedWorkerOptions;
  stats: WorkerStats;
  publisher: TaskEventPublisher;
  registered: () => readonly string[];
  retried: () => void;
  observer: Pick<Required<WorkerObserver>, 'landed'>;
}): Completer {
  const { logger, options, stats, publisher, registered } = context;
  return new Completer({
    db: context.db,
    sql: context.sql,
    workerId: context.workerId,
    backoff: options.backoff,
    now: options.now,
    onLanded: (landed) => {
      for (const item of landed) logWriteBack(item, { logger, stats, registered });
      context.observer.landed(landed);
      if (publisher.enabled) publisher.publish(landedTaskEvents(landed));
      if (landed.some((item) => item.status === 'PENDING')) context.retried();
    },
    onError: (error, pending) => logger.log('error', 'write_back_failed', { error: String(error), pending }),
    // The rows landed; a failing log or publish must not write them again.
    onLandedError: (error) => logger.log('error', 'landed_callback_failed', { error: String(error) }),
  });
}

/** Saves a running task's progress report, fenced by its lease token; a failure is only logged. */
function progressSaver(context: {
  db: Database;
  sql: WorkerStatements;
  workerId: string;
  logger: Logger;
  run: (token: string) => { id: string; attempt: number } | undefined;
}): (token: string, json: string) => void {
  const { db, sql, workerId, logger, run } = context;
  return (token, json) => {
    const task = run(token);
    if (task === undefined) return;
    db.query(sql.taskProgress, [task.id, task.attempt, workerId, json, token]).catch((error: unknown) =>
      logger.log('warn', 'progress_not_saved', { taskId: task.id, error: String(error) }),
    );
  };
}

/** Threads killed at their timeout (default), or handlers on the main thread (`isolation: none`). */
function createExecutor(
  options: ResolvedWorkerOptions,
  hooks: { logger: Logger } & Pick<ExecutorOptions, 'onSlotFree' | 'onProgress' | 'runTrace'>,
): Executor {
  const { logger } = hooks;
  return new (options.isolation === 'none' ? InProcessExecutor : ExecutorPool)({
    size: options.concurrency,
    tasksUrl: tasksModuleUrl(options.tasks),
    killGraceMs: options.killGrace,
    onSlotFree: hooks.onSlotFree,
    onProgress: hooks.onProgress,
    runTrace: hooks.runTrace,
    onThreadReady: (threads) =>
      logger.log('info', 'thread_started', { threads, concurrency: options.concurrency }),
    onThreadRetired: (threads) => logger.log('info', 'thread_stopped', { threads, reason: 'idle' }),
  });
}

/** The fields of the `worker_started` line. */
function startedFields(
  workerId: string,
  options: ResolvedWorkerOptions,
  input: WorkerOptions,
  tasks: string[],
) {
  return {
    workerId,
    schema: options.schema,
    concurrency: options.concurrency,
    queues: options.queues ?? 'all',
    notifier: input.notifier ? 'on' : 'off (polling)',
    retry: options.retry,
    lease: options.lease,
    isolation: options.isolation,
    tasks,
  };
}

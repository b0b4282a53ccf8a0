/**
 * The container worker: wires the producer (claims), the executor pool (runs, kills at
 * timeout), the completer (fenced, batched write-backs), the lease keeper (heartbeats) and the
 * sweeper (expired leases), and shuts them down gracefully.
 * @module
 */
import { hostname } from 'node:os';
import type { Database } from '../../src/core/database.ts';
import { SchemaError } from '../../src/core/errors.ts';
import { LATEST_MIGRATION, schemaVersion } from '../../src/core/migrations/migrate.ts';
import { createPgDatabase } from '../../src/adapters/node/pg-database.ts';
import { workerStatements } from '../../src/core/sql/worker-statements.ts';
import { deleteFinishedTasks, sweepExpiredTasks } from '../../src/core/execution/sweep.ts';
import { ConfigError } from '../../src/core/errors.ts';
import {
  anyQueueChannel,
  createTaskEvent,
  publishTaskEvents,
  queueChannel,
  type TaskEvent,
} from '../../src/core/events/task-events.ts';
import type { Unsubscribe } from '../../src/core/notifier.ts';
import { landedTaskEvents } from '../../src/core/execution/write-back.ts';
import { UNKNOWN_TASK_ERROR } from '../../src/core/task-error.ts';
import { Completer, type Landed } from './completer.ts';
import type { Executor, Outcome } from './executor.ts';
import { ExecutorPool } from './executor-pool.ts';
import { InProcessExecutor } from './in-process-executor.ts';
import { tasksModuleUrl } from './load-tasks.ts';
import { createLogger, type Logger } from './logger.ts';
import { Producer, type ClaimedTask } from './producer.ts';
import { resolveWorkerOptions, type WorkerOptions } from './worker-options.ts';

export type { WorkerOptions } from './worker-options.ts';

/** Counters since start. */
export interface WorkerStats {
  running: number;
  completed: number;
  failed: number;
  retried: number;
  /** Write-backs refused by fencing (task cancelled or taken over after a lost lease). */
  lost: number;
}

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

interface Running {
  task: ClaimedTask;
  /** Set when shutdown put the task back: its outcome is discarded. */
  putBack?: boolean;
}

/** Starts a worker. Resolves once its threads have loaded the tasks module. */
export async function runWorker(input: WorkerOptions): Promise<WorkerHandle> {
  const options = resolveWorkerOptions(input);
  if (!input.database && !input.databaseUrl)
    throw new ConfigError('runWorker needs database or databaseUrl.');
  const logger: Logger = input.logger ?? createLogger();
  const workerId = input.workerId ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 6)}`;
  const db: Database =
    input.database ??
    createPgDatabase({
      connectionString: input.databaseUrl,
      max: 4,
      applicationName: `task-worker ${workerId}`,
    });
  const ownsDb = !input.database;
  const sql = workerStatements(options.schema);
  const now = () => options.now?.()?.toISOString() ?? null;
  const notifier = input.notifier;
  // Publishes not yet sent: shutdown waits for them (briefly), so the wake-up for tasks it put
  // back reaches other workers before the notifier closes.
  const publishing = new Set<Promise<unknown>>();
  function publish(events: TaskEvent[]): void {
    if (!notifier || events.length === 0) return;
    // After the commit, never awaited on the hot path; a failure is only a lost hint.
    const sent = publishTaskEvents(notifier, options.schema, events, {
      onError: (error, { channel }) => logger.log('warn', 'notify_failed', { channel, error: String(error) }),
    });
    publishing.add(sent);
    void sent.finally(() => publishing.delete(sent));
  }

  // Read while the threads load (below); checked before anything else touches the table.
  const versionRead = schemaVersion(db, options.schema);
  versionRead.catch(() => undefined);

  const stats: WorkerStats = { running: 0, completed: 0, failed: 0, retried: 0, lost: 0 };
  const running = new Map<string, Running>();
  // Assigned once the threads are up; callbacks that fire before then must see `undefined`.
  // eslint-disable-next-line prefer-const
  let producer: Producer | undefined;

  const pool: Executor = new (options.isolation === 'none' ? InProcessExecutor : ExecutorPool)({
    size: options.concurrency,
    tasksUrl: tasksModuleUrl(options.tasks),
    killGraceMs: options.killGrace,
    onSlotFree: () => producer?.slotFreed(),
    onThreadReady: (threads) =>
      logger.log('info', 'thread_started', { threads, concurrency: options.concurrency }),
    onThreadRetired: (threads) => logger.log('info', 'thread_stopped', { threads, reason: 'idle' }),
    onProgress: (id, json) => {
      const entry = running.get(id);
      if (!entry) return;
      db.query(sql.taskProgress, [id, entry.task.attempt, workerId, json]).catch((error: unknown) =>
        logger.log('warn', 'progress_not_saved', { taskId: id, error: String(error) }),
      );
    },
  });

  const completer = new Completer({
    db,
    sql,
    workerId,
    backoff: options.backoff,
    now: options.now,
    onLanded: (landed) => {
      landed.forEach(report);
      if (notifier) publish(landedTaskEvents(landed));
    },
    onError: (error, pending) => logger.log('error', 'write_back_failed', { error: String(error), pending }),
  });

  function report({ item, status, runAt }: Landed): void {
    const base = { taskId: item.id, name: item.name, attempt: item.attempt, duration: round(item.duration) };
    if (status === null) {
      stats.lost++;
      logger.log('warn', 'task_result_rejected', {
        ...base,
        reason:
          'the task is no longer owned by this attempt (cancelled, or its lease expired and it was recovered)',
      });
    } else if (status === 'COMPLETED') {
      stats.completed++;
      logger.log('info', 'task_completed', base);
    } else if (item.kind === 'fail') {
      const fields = { ...base, error: item.error.message, errorType: item.error.type };
      if (status === 'PENDING') {
        stats.retried++;
        logger.log('warn', 'task_retry_scheduled', { ...fields, runAt: runAt?.toISOString() });
      } else {
        stats.failed++;
        // The registered names are for the operator: the stored error does not list them.
        const registered = item.error.type === UNKNOWN_TASK_ERROR ? { registered: taskNames } : {};
        logger.log('error', 'task_failed', { ...fields, ...registered, stack: item.error.stack });
      }
    }
  }

  function finish(task: ClaimedTask, outcome: Outcome): void {
    const entry = running.get(task.id);
    running.delete(task.id);
    stats.running = running.size;
    producer?.recordDuration(outcome.duration);
    if (!entry || entry.putBack) return;
    const common = { id: task.id, attempt: task.attempt, name: task.name, duration: outcome.duration };
    completer.add(
      outcome.ok
        ? { kind: 'complete', ...common, json: outcome.json }
        : { kind: 'fail', ...common, error: outcome.error, retryable: !outcome.error.nonRetryable },
    );
  }

  // Start-up runs side by side: the first thread loads the tasks module while the schema
  // version is read and the table analysed (the first claim waits for all three).
  const loading = pool.start();
  loading.catch(() => undefined);
  const abandon = async (error: unknown): Promise<never> => {
    await loading.catch(() => undefined);
    await pool.close();
    if (ownsDb) await db.close();
    throw error;
  };
  const version = await versionRead.catch(abandon);
  if (version !== LATEST_MIGRATION) {
    await abandon(
      new SchemaError(
        version > LATEST_MIGRATION ? 'SCHEMA_TOO_NEW' : 'MIGRATION_FAILED',
        version > LATEST_MIGRATION
          ? `Schema "${options.schema}" is at version ${version}, newer than this worker (${LATEST_MIGRATION}); upgrade edge-task-worker.`
          : `Schema "${options.schema}" is at version ${version}, expected ${LATEST_MIGRATION}: run "task-worker migrate" first.`,
      ),
    );
  }
  // Fresh planner statistics for the claim, in the background: claims planned before it ends
  // are re-planned when it does (ANALYZE invalidates cached plans), and on a big table it can
  // take longer than the whole start-up. Best effort: a role that does not own the table
  // cannot analyse it.
  const analyzed = db.query(sql.taskTableAnalyze).catch(() => undefined);
  const taskNames = await loading.catch(async (error: unknown) => {
    await analyzed;
    return await abandon(error);
  });

  producer = new Producer({
    db,
    sql,
    workerId,
    options,
    now,
    freeSlots: () => pool.freeSlots,
    logger,
    release: (tasks) => putBack(tasks),
    dispatch(task) {
      if (notifier) publish([createTaskEvent('task_started', task)]);
      running.set(task.id, { task });
      stats.running = running.size;
      logger.log('debug', 'task_started', { taskId: task.id, name: task.name, attempt: task.attempt });
      void pool.run(task, task.timeout).then((outcome) => finish(task, outcome));
    },
  });

  // Heartbeats: extend the leases of running tasks; abort the ones no longer ours.
  const heartbeat = setInterval(
    () => {
      const owned = [
        ...[...running.values()].filter((r) => !r.putBack).map((r) => r.task),
        ...(producer?.buffered() ?? []),
      ];
      if (owned.length === 0) return;
      db.query(sql.taskHeartbeat, [
        owned.map((t) => t.id),
        owned.map((t) => t.attempt),
        workerId,
        options.lease,
        now(),
      ])
        .then(({ rows }) => {
          const kept = new Set(rows.map((row) => row.id as string));
          for (const task of owned) {
            if (kept.has(task.id) || !running.has(task.id)) continue;
            // (A buffered task that was lost is dropped when it starts: its write-back is fenced.)
            logger.log('warn', 'task_aborted', {
              taskId: task.id,
              name: task.name,
              attempt: task.attempt,
              reason: 'cancelled or lease lost',
            });
            pool.abort(task.id, 'The task was cancelled or its lease was lost');
          }
        })
        .catch((error: unknown) => logger.log('warn', 'heartbeat_failed', { error: String(error) }));
    },
    (options.lease * 1000) / 3,
  );

  const sweeper = setInterval(() => {
    sweepExpiredTasks(db, { schema: options.schema, backoff: options.backoff, now: options.now?.() })
      .then((swept) => {
        publish(
          swept.map((task) =>
            createTaskEvent(task.status === 'FAILED' ? 'task_failed' : 'task_requeued', task),
          ),
        );
        for (const task of swept) {
          logger.log('warn', task.status === 'FAILED' ? 'task_failed' : 'task_retry_scheduled', {
            taskId: task.id,
            name: task.name,
            attempt: task.attempt,
            error: 'Lease expired',
            errorType: 'LeaseExpiredError',
          });
        }
      })
      .catch((error: unknown) => logger.log('warn', 'sweep_failed', { error: String(error) }));
    if (options.retentionDays > 0) {
      deleteFinishedTasks(db, { schema: options.schema, days: options.retentionDays })
        .then((deleted) => {
          if (deleted > 0)
            logger.log('info', 'tasks_deleted', { count: deleted, olderThanDays: options.retentionDays });
        })
        .catch((error: unknown) => logger.log('warn', 'retention_failed', { error: String(error) }));
    }
  }, options.sweepInterval);

  producer.start();
  // Wake-ups: one channel per served queue, or the any-queue channel. Coming back after a
  // notifier outage also wakes the producer (tasks created meanwhile sent no message).
  const unsubscribes: Unsubscribe[] = [];
  if (notifier) {
    const channels = options.queues
      ? options.queues.map((queue) => queueChannel(options.schema, queue))
      : [anyQueueChannel(options.schema)];
    for (const channel of channels) {
      const unsubscribe = await notifier
        .subscribe(channel, () => producer?.wake(), {
          onStatus: (status) => {
            logger.log(status === 'connected' ? 'info' : 'warn', `notifier_${status}`, { channel });
            if (status === 'connected') producer?.wake();
          },
        })
        .catch((error: unknown) => {
          logger.log('warn', 'notifier_subscribe_failed', {
            channel,
            error: String(error),
            note: 'polling only',
          });
          return undefined;
        });
      if (unsubscribe) unsubscribes.push(unsubscribe);
    }
  }
  logger.log('info', 'worker_started', {
    workerId,
    schema: options.schema,
    concurrency: options.concurrency,
    queues: options.queues ?? 'all',
    notifier: notifier ? 'on' : 'off (polling)',
    retry: options.retry,
    lease: options.lease,
    isolation: options.isolation,
    tasks: taskNames,
  });

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  let killNow: (() => void) | undefined;

  /**
   * Returns owned tasks to PENDING as they were (no retry used), fenced, and wakes other
   * workers. On failure the sweeper recovers them when their lease expires.
   */
  async function putBack(tasks: readonly ClaimedTask[]): Promise<void> {
    if (tasks.length === 0) return;
    try {
      const { rows } = await db.query(sql.taskPutBack, [
        tasks.map((t) => t.id),
        tasks.map((t) => t.attempt),
        workerId,
        now(),
      ]);
      logger.log('warn', 'tasks_put_back', { count: rows.length, taskIds: rows.map((r) => r.id) });
      if (notifier) {
        publish(
          rows.map((row) =>
            createTaskEvent('task_requeued', { id: row.id as string, queue: row.queue as string }),
          ),
        );
      }
    } catch (error) {
      logger.log('error', 'put_back_failed', {
        error: String(error),
        note: 'the sweeper will recover these tasks when their lease expires',
        taskIds: tasks.map((t) => t.id),
      });
    }
  }

  async function putBackRunning(): Promise<void> {
    const entries = [...running.values()].filter((r) => !r.putBack);
    for (const entry of entries) entry.putBack = true;
    const tasks = entries.map((e) => e.task);
    await putBack(tasks);
    for (const task of tasks) pool.abort(task.id, 'Worker is shutting down', 0);
  }

  async function shutdown(graceSeconds: number): Promise<void> {
    logger.log('info', 'worker_stopping', { running: running.size, grace: graceSeconds });
    await putBack((await producer?.stop()) ?? []);
    const deadline = Date.now() + graceSeconds * 1000;
    await new Promise<void>((resolve) => {
      killNow = resolve;
      const check = () => {
        if (running.size === 0 || Date.now() >= deadline) resolve();
        else setTimeout(check, 50);
      };
      check();
    });
    clearInterval(heartbeat);
    clearInterval(sweeper);
    await Promise.all(unsubscribes.map((unsubscribe) => unsubscribe().catch(() => undefined)));
    await putBackRunning();
    await completer.drain();
    await analyzed;
    await Promise.race([
      Promise.allSettled([...publishing]),
      new Promise((resolve) => setTimeout(resolve, PUBLISH_FLUSH_MS).unref()),
    ]);
    await pool.close();
    if (ownsDb) await db.close();
    logger.log('info', 'worker_stopped', { workerId, ...stats });
    resolveStopped();
  }

  return {
    workerId,
    taskNames,
    stopped,
    stats: () => ({ ...stats }),
    stop(stopOptions = {}) {
      stopping ??= shutdown(stopOptions.grace ?? options.grace);
      return stopping;
    },
    kill() {
      stopping ??= shutdown(0);
      killNow?.();
      return stopping;
    },
  };
}

/** Longest a stopping worker waits for its last notifications to go out. */
const PUBLISH_FLUSH_MS = 1000;

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/**
 * The tasks this worker has handed to its executor, from dispatch to write-back: starts each
 * one, queues its outcome with the completer, stops the ones cancelled meanwhile (their rows are
 * final already: nothing is written), aborts the ones whose lease was lost, and, at shutdown,
 * takes back the ones still running (their outcomes are then discarded).
 *
 * Runs are keyed by their claim's lease token, not by task id: a claim lost in a Postgres crash
 * and the same worker's next claim of that task are two runs of one id (and one attempt), each
 * heartbeated, aborted and written back with its own token.
 * @module
 */
import { createTaskEvent } from '../../src/core/events/task-events.ts';
import { logsAt, taskLogFields } from '../../src/core/logger.ts';
import type { Completer } from './completer.ts';
import type { Executor, Outcome } from './executor.ts';
import type { Logger } from './logger.ts';
import type { ClaimedTask } from './producer.ts';
import type { TaskEventPublisher } from './task-event-publisher.ts';
import type { WorkerObserver } from './worker-observer.ts';
import type { WorkerStats } from './worker-stats.ts';

export interface RunningTasksOptions {
  executor: Executor;
  completer: Completer;
  publisher: TaskEventPublisher;
  logger: Logger;
  /** `running` is kept up to date here. */
  stats: WorkerStats;
  /** A run ended (in seconds), whether or not its outcome is written back. */
  onFinished: (duration: number) => void;
  /** Told of every start, end and cancellation (metrics, tracing). */
  observer: Pick<Required<WorkerObserver>, 'started' | 'ended' | 'cancelled'>;
}

interface Entry {
  task: ClaimedTask;
  /** Set when shutdown put the task back: its outcome is discarded. */
  putBack?: boolean;
  /** Set when its row was found `CANCELLED`: the run is being stopped, nothing is written. */
  cancelled?: boolean;
}

/** What told the worker that a task it holds was cancelled. */
export type CancelSource = 'notification' | 'heartbeat';

export class RunningTasks {
  /** By lease token. */
  private readonly entries = new Map<string, Entry>();
  /** Lease tokens of claimed tasks found cancelled before they started: they never start. */
  private readonly cancelledUnstarted = new Set<string>();
  private readonly o: RunningTasksOptions;

  constructor(options: RunningTasksOptions) {
    this.o = options;
  }

  get size(): number {
    return this.entries.size;
  }

  /** A running task by its lease token (put back or not), or undefined. */
  byToken(token: string): ClaimedTask | undefined {
    return this.entries.get(token)?.task;
  }

  /** Running tasks that still hold their lease (not put back, not cancelled). */
  owned(): ClaimedTask[] {
    return [...this.entries.values()]
      .filter((entry) => !entry.putBack && !entry.cancelled)
      .map((entry) => entry.task);
  }

  /** Hands a claimed task to the executor; its outcome goes to the completer. */
  start(task: ClaimedTask): void {
    const { executor, publisher, logger, stats } = this.o;
    if (this.cancelledUnstarted.delete(task.token)) return; // logged by cancel()
    if (publisher.enabled) publisher.publish([createTaskEvent('task_started', task)]);
    this.entries.set(task.token, { task });
    stats.running = this.entries.size;
    this.o.observer.started(task);
    if (logsAt(logger, 'debug')) logger.log('debug', 'task_started', taskLogFields(task));
    void executor.run(task, task.timeout).then((outcome) => this.finish(task, outcome));
  }

  /**
   * The rows of these tasks (held by this worker: running, or claimed and not started) were
   * found `CANCELLED` with their runs' lease tokens. A run gets its abort signal now and, if it
   * still runs after the kill grace, its thread is terminated (executor-pool.ts); its outcome is
   * not written. A task not started yet never starts. Idempotent.
   */
  cancel(tasks: readonly ClaimedTask[], detectedBy: CancelSource): void {
    for (const task of tasks) {
      const entry = this.entries.get(task.token);
      if (entry?.putBack || entry?.cancelled || this.cancelledUnstarted.has(task.token)) continue;
      this.o.logger.log('info', 'task_cancelled', { ...taskLogFields(task), detectedBy, started: !!entry });
      this.o.observer.cancelled(task, !!entry);
      if (!entry) {
        this.cancelledUnstarted.add(task.token);
        continue;
      }
      entry.cancelled = true;
      this.o.executor.abort(task.token, 'The task was cancelled');
    }
  }

  /** The heartbeat did not extend these leases (and their rows are not cancelled): abort them. */
  abortLost(tasks: readonly ClaimedTask[], reason = 'lease lost'): void {
    for (const task of tasks) {
      // (A buffered task that was lost is dropped when it starts: its write-back is fenced.)
      const entry = this.entries.get(task.token);
      if (!entry || entry.cancelled) continue;
      this.o.logger.log('warn', 'task_aborted', { ...taskLogFields(task), reason });
      this.o.executor.abort(task.token, `The task was aborted: ${reason}`);
    }
  }

  /**
   * Marks every running task as put back and returns them, for the caller to put back before
   * aborting them with {@link abortTakenBack}.
   */
  takeBack(): ClaimedTask[] {
    const entries = [...this.entries.values()].filter((entry) => !entry.putBack);
    for (const entry of entries) entry.putBack = true;
    return entries.map((entry) => entry.task);
  }

  /** Stops the runs of tasks taken back, at once (no grace). */
  abortTakenBack(tasks: readonly ClaimedTask[]): void {
    for (const task of tasks) this.o.executor.abort(task.token, 'Worker is shutting down', 0);
  }

  /**
   * Resolves once no task runs or `graceSeconds` passed; `cut()` resolves it at once (the
   * second Ctrl-C).
   */
  settle(graceSeconds: number): { settled: Promise<void>; cut: () => void } {
    const deadline = Date.now() + graceSeconds * 1000;
    let cut!: () => void;
    const settled = new Promise<void>((resolve) => {
      cut = resolve;
      const check = () => {
        if (this.entries.size === 0 || Date.now() >= deadline) resolve();
        else setTimeout(check, 50);
      };
      check();
    });
    return { settled, cut };
  }

  private finish(task: ClaimedTask, outcome: Outcome): void {
    const entry = this.entries.get(task.token);
    this.entries.delete(task.token);
    this.o.stats.running = this.entries.size;
    this.o.onFinished(outcome.duration);
    if (!entry || entry.putBack) return;
    const { id, attempt, token, name } = task;
    if (entry.cancelled) {
      // The row is CANCELLED already; a write-back would be refused (fenced by status and token).
      const duration = Math.round(outcome.duration * 1000) / 1000;
      this.o.logger.log('info', 'task_run_stopped', {
        ...taskLogFields(task),
        duration,
        reason: 'cancelled',
      });
      this.o.observer.ended(task, outcome);
      return;
    }
    this.o.observer.ended(task, outcome);
    const common = { id, attempt, token, name, duration: outcome.duration, traceContext: task.traceContext };
    this.o.completer.add(
      outcome.ok
        ? { kind: 'complete', ...common, json: outcome.json }
        : { kind: 'fail', ...common, error: outcome.error, retryable: !outcome.error.nonRetryable },
    );
  }
}

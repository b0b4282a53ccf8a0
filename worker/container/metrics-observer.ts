/**
 * The container worker's counters and histograms, fed by its observer hooks
 * (worker-observer.ts): runs started, outcomes written back (completed, retry scheduled,
 * failed, refused by fencing), runs stopped by a cancel, tasks its maintainer recovered from
 * expired leases, run durations, the wait from due to claim, and claim batch sizes.
 *
 * Hooks run on the worker's hot path: each one finds its child by queue and task name (a map
 * lookup per label) and adds a number. Nothing is allocated or formatted per task; a new queue
 * or task name costs one child, once, and at most `maxLabelSets` of them per family.
 * @module
 */
import type { MetricsRegistry } from '../../src/core/metrics/metrics-registry.ts';
import type { WorkerObserver } from './worker-observer.ts';

/** Run durations, seconds: 1 ms to 1 h, for no-op tasks and report builders alike. */
export const DURATION_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
] as const;
/** Due to claim, seconds: 1 ms (a worker listening for notifications) to 1 h (a backlog). */
export const WAIT_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
] as const;
/** Tasks per claim; `le="0"` counts the claims that found nothing. */
export const CLAIM_BATCH_BUCKETS = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] as const;

const BY_TASK = ['queue', 'task'] as const;

/** An observer that counts what the worker does into `registry`. */
export function metricsObserver(registry: MetricsRegistry): WorkerObserver {
  const m = workerFamilies(registry);
  return {
    claimed(tasks) {
      m.claimBatch.observe(tasks.length);
      for (const task of tasks)
        m.wait.labels(task.queue).observe(task.waitedMs > 0 ? task.waitedMs / 1000 : 0);
    },
    started(task) {
      m.started.labels(task.queue, task.name).inc();
    },
    ended(task, outcome) {
      m.duration.labels(task.queue, task.name).observe(outcome.duration);
    },
    landed(landed) {
      for (const { item, status, queue = '' } of landed) {
        if (status === 'COMPLETED') m.completed.labels(queue, item.name).inc();
        else if (status === 'PENDING') m.retried.labels(queue, item.name).inc();
        else if (status === 'FAILED') m.failed.labels(queue, item.name).inc();
        else m.refused.inc();
      }
    },
    cancelled(task) {
      m.cancelled.labels(task.queue, task.name).inc();
    },
    swept(tasks) {
      for (const task of tasks) {
        m.recovered.labels(task.queue, task.name, task.status === 'PENDING' ? 'requeued' : 'failed').inc();
      }
    },
  };
}

function workerFamilies(registry: MetricsRegistry) {
  const counter = (name: string, help: string) => registry.counter(name, help, BY_TASK);
  return {
    started: counter('task_worker_tasks_started_total', 'Runs this worker started.'),
    completed: counter('task_worker_tasks_completed_total', 'Runs this worker completed (written back).'),
    retried: counter(
      'task_worker_tasks_retried_total',
      'Runs of this worker that failed (error or timeout) with retries left: the task is PENDING again, after its back-off.',
    ),
    failed: counter(
      'task_worker_tasks_failed_total',
      'Runs of this worker that failed for good (no retries left, NonRetryableError, unknown task name): the task is FAILED.',
    ),
    cancelled: counter(
      'task_worker_runs_cancelled_total',
      'Tasks this worker held (claimed or running) that were cancelled; their runs were stopped.',
    ),
    recovered: registry.counter(
      'task_worker_tasks_recovered_total',
      "Tasks whose worker lost its lease (crash, kill -9, lost connection), recovered by this worker's maintainer: outcome requeued (PENDING) or failed (no retries left).",
      [...BY_TASK, 'outcome'],
    ),
    refused: registry.counter(
      'task_worker_write_backs_refused_total',
      'Outcomes fencing refused: the task was cancelled, or its lease was lost and another run owns it.',
    ),
    duration: registry.histogram(
      'task_worker_task_duration_seconds',
      "Seconds each run's handler ran (the task's duration column), whatever its outcome.",
      BY_TASK,
      DURATION_BUCKETS,
    ),
    wait: registry.histogram(
      'task_worker_task_wait_seconds',
      'Seconds from when a task became due (created, its runAt, or the end of its retry back-off) to its claim.',
      ['queue'],
      WAIT_BUCKETS,
    ),
    claimBatch: registry.histogram(
      'task_worker_claim_batch_size',
      'Tasks per claim statement (0: the claim found nothing due).',
      [],
      CLAIM_BATCH_BUCKETS,
    ),
  };
}

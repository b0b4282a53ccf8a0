/**
 * What the HTTP app counts: the state changes it makes through its client (the JSON API and
 * the dashboard alike): tasks created, cancelled, retried and redriven. Workers count what
 * happens to tasks after that (started, completed, failed, ...; worker/container/
 * metrics-observer.ts), under other names, so one registry can hold both (`task-worker dev`)
 * without counting anything twice.
 * @module
 */
import type { MetricsRegistry } from '../core/metrics/metrics-registry.ts';
import type { TaskClient } from '../core/service/task-client.ts';
import { returnedExisting } from '../core/service/existing-tasks.ts';
import type { Task } from '../core/task.ts';

const LABELS = ['queue', 'task'] as const;

/**
 * `client` with its writes counted into `registry` (`client` itself when there is none). Reads
 * and everything else go to `client` unchanged (it is the new object's prototype).
 */
export function countTaskWrites(client: TaskClient, registry: MetricsRegistry | null): TaskClient {
  if (!registry) return client;
  const created = registry.counter(
    'task_worker_tasks_created_total',
    'Tasks created through this app (POST /tasks); a uniqueKey hit answered with the existing task is not counted.',
    LABELS,
  );
  const cancelled = registry.counter(
    'task_worker_tasks_cancelled_total',
    'Tasks cancelled through this app (API and dashboard).',
    LABELS,
  );
  const retried = registry.counter(
    'task_worker_tasks_manually_retried_total',
    'Final tasks moved back to PENDING one by one through this app (POST /tasks/:id/retry, dashboard).',
    LABELS,
  );
  const redriven = registry.counter(
    'task_worker_tasks_redriven_total',
    'FAILED tasks moved back to PENDING in bulk through this app (POST /tasks/redrive, dashboard).',
  );
  // A uniqueKey hit answers with the task already stored: not a creation. (A client of another
  // copy of this package marks nothing there: its hits count as creations.)
  const count = (task: Task) => {
    if (!returnedExisting(task)) created.labels(task.queue, task.name).inc();
  };
  const calls = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const counting: Partial<Record<keyof TaskClient, unknown>> = {
    async createTask(...args: unknown[]) {
      const task = (await calls.createTask!(...args)) as Task;
      count(task);
      return task;
    },
    async createTasks(...args: unknown[]) {
      const tasks = (await calls.createTasks!(...args)) as Task[];
      for (const task of tasks) count(task);
      return tasks;
    },
    async createTaskWith(...args: unknown[]) {
      const result = (await calls.createTaskWith!(...args)) as { task: Task; created: boolean };
      if (result.created) count(result.task);
      return result;
    },
    async cancelTask(id: string) {
      // Both callers read the task first and cancel only an unfinished one, so CANCELLED here
      // is this call's doing (but for a race with another cancel).
      const task = await client.cancelTask(id);
      if (task.status === 'CANCELLED') cancelled.labels(task.queue, task.name).inc();
      return task;
    },
    async retryTask(id: string) {
      const task = await client.retryTask(id);
      retried.labels(task.queue, task.name).inc();
      return task;
    },
    async redriveFailed(options?: Parameters<TaskClient['redriveFailed']>[0]) {
      const result = await client.redriveFailed(options);
      redriven.inc(result.redriven);
      return result;
    },
  };
  return Object.assign(Object.create(client) as TaskClient, counting);
}

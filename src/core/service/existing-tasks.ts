/**
 * Tasks a create call returned without creating them: a `uniqueKey` (or deduplication) hit
 * answers with the task already stored. Remembered by object, so that what counts creations
 * (the HTTP app's `task_worker_tasks_created_total`) can leave them out; a WeakSet, so nothing
 * is kept alive. Only hits are marked: a plain create costs nothing here.
 * @module
 */
import type { Task } from '../task.ts';

const existing = new WeakSet<Task>();

/** Marks the tasks of `returned` that are not in `created`. */
export function markExistingTasks(returned: readonly Task[], created: readonly Task[]): void {
  if (created.length === returned.length) return;
  const fresh = new Set(created);
  for (const task of returned) if (!fresh.has(task)) existing.add(task);
}

/** Whether a create call returned `task` as already stored (false for one it created). */
export function returnedExisting(task: Task): boolean {
  return existing.has(task);
}

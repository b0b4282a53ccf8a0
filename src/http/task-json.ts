/**
 * The wire form of a task: the {@link Task} fields, camelCase, with every timestamp as an
 * ISO 8601 string (UTC, milliseconds).
 * @module
 */
import type { Task } from '../core/task.ts';

// Distributes over unions, so `Date | null` becomes `string | null`.
type Wire<T> = T extends Date ? string : T;

/**
 * A task as the HTTP API sends it: the fields of {@link Task}, with dates as ISO strings.
 * Derived from `Task`, so a column added there must be added to {@link taskToJson} too
 * (the compiler insists) instead of silently going missing from the API.
 */
export type TaskJson = { [K in keyof Task]: Wire<Task[K]> };

function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}

/** Converts a task to its wire form. */
export function taskToJson(task: Task): TaskJson {
  return {
    id: task.id,
    name: task.name,
    args: task.args,
    kwargs: task.kwargs,
    queue: task.queue,
    priority: task.priority,
    status: task.status,
    timeout: task.timeout,
    retryCount: task.retryCount,
    maxRetries: task.maxRetries,
    runAt: task.runAt.toISOString(),
    result: task.result,
    error: task.error,
    errorType: task.errorType,
    errorStack: task.errorStack,
    errorHistory: task.errorHistory,
    progress: task.progress,
    uniqueKey: task.uniqueKey,
    concurrencyKey: task.concurrencyKey,
    concurrencyKeyLimit: task.concurrencyKeyLimit,
    leaseUntil: iso(task.leaseUntil),
    workerId: task.workerId,
    attempt: task.attempt,
    createdAt: task.createdAt.toISOString(),
    updatedAt: task.updatedAt.toISOString(),
    startedAt: iso(task.startedAt),
    finishedAt: iso(task.finishedAt),
    duration: task.duration,
  };
}

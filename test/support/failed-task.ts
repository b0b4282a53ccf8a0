/**
 * A `FAILED` task for the dead-letter tests: created through the client, then failed by SQL as a
 * worker would leave it after two attempts (error, type, stack, timeline, error history).
 */
import type { Database } from '../../src/core/database.ts';
import type { TaskClient } from '../../src/core/service/task-client.ts';

export interface FailedTaskOptions {
  /** Default: `test.noop` (the worker fixture's no-op, so a redriven task completes). */
  name?: string;
  /** Default: `default`. */
  queue?: string;
  /** Default: `TypeError`; `null` for none. */
  errorType?: string | null;
  /** Default: `boom`. */
  error?: string;
  /** Seconds ago it failed (default: 60). */
  failedAgo?: number;
  uniqueKey?: string;
}

/** Creates a task and fails it; returns its id. */
export async function createFailedTask(
  client: TaskClient,
  db: Database,
  schema: string,
  options: FailedTaskOptions = {},
): Promise<string> {
  const task = await client.createTask(options.name ?? 'test.noop', {
    queue: options.queue ?? 'default',
    ...(options.uniqueKey ? { uniqueKey: options.uniqueKey } : {}),
  });
  await db.query(
    `update ${schema}.tasks set status = 'FAILED', attempt = 2, retry_count = 1, error = $2, error_type = $3,
       error_stack = 'stack', finished_at = now() - make_interval(secs => $4), started_at = now() - interval '2 hours',
       duration = 0.5, run_at = now() - interval '2 hours',
       error_history = '[{"attempt": 1, "error": "first"}]'::jsonb
     where id = $1`,
    [
      task.id,
      options.error ?? 'boom',
      options.errorType === undefined ? 'TypeError' : options.errorType,
      options.failedAgo ?? 60,
    ],
  );
  return task.id;
}

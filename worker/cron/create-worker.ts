/**
 * The Cloudflare Worker factory: `fetch` serves the HTTP API; `scheduled` (the cron trigger)
 * runs the maintainer once (worker/maintenance/: expired leases) and then runs due tasks whose
 * handlers the Worker registers, within a time budget, over Neon HTTP (and Upstash REST for
 * notifications) only.
 *
 * Timeouts here are the `AbortSignal` only: workerd cannot kill a running handler, so a
 * handler that ignores its signal keeps running until the platform ends the invocation; its
 * lease then expires and the next sweep recovers the task. Use the container worker for
 * CPU-heavy or untrusted handlers.
 * @module
 */
import type { TaskRegistry } from '../../src/core/define-tasks.ts';
import { createAuthThrottle } from '../../src/http/auth-throttle.ts';
import { createApp } from '../../src/http/create-app.ts';
import { createMaintainer, sweptTaskEvents } from '../maintenance/maintainer.ts';
import { runDueTasks, type InlineRunResult } from './inline-executor.ts';
import { landedTaskEvents } from '../../src/core/execution/write-back.ts';
import type { RetryBackoff } from '../../src/core/retry-policy.ts';
import type { SweptTask } from '../../src/core/execution/sweep.ts';
import { publishTaskEvents, type TaskEvent } from '../../src/core/events/task-events.ts';
import type { Notifier } from '../../src/core/notifier.ts';
import { createTaskClient } from '../../src/core/service/task-client.ts';
import {
  databaseFromEnv,
  notifierFromBindings,
  requireBinding,
  schemaFromEnv,
  type TaskWorkerEnv,
} from './worker-env.ts';

export interface CloudflareWorkerOptions {
  /** The handlers the cron run may execute. Tasks with other names stay for other workers. */
  tasks: TaskRegistry;
  /**
   * Wall-clock budget of one cron run, in ms (default: 25000). Cron invocations may run
   * longer on paid plans; keep it below the cron interval so runs do not overlap much.
   */
  budgetMs?: number;
  /** Tasks run at once in the isolate (default: 4). */
  concurrency?: number;
  /** Retries for tasks created without `maxRetries` (default: 0). */
  retry?: number;
  /** Only these queues (default: all). */
  queues?: string[];
  /** Lease of a claimed task, in seconds (default: 60). */
  lease?: number;
  /**
   * Tasks whose timeout is longer than the budget left (default timeout: 300 s) or that have
   * none. `'try'` (default): run when no task that fits is due; they usually finish fast.
   * `'skip'`: never claimed by the cron run (leave them to container workers).
   */
  longTasks?: 'try' | 'skip';
  /**
   * A task cut off by the end of the budget this many times fails with `BudgetExceededError`
   * instead of being put back again (default: 3; 1 to 10).
   */
  maxCutOffs?: number;
  backoff?: RetryBackoff;
  /** Longest `GET /tasks/:id/wait`, in seconds (default: 30). */
  maxWaitSeconds?: number;
}

/** What one cron run did (also logged as one JSON line). */
export interface ScheduledRunReport {
  swept: SweptTask[];
  executed: InlineRunResult;
}

/** The handlers Workers call, with `runScheduled` exposed for tests and custom crons. */
export interface TaskWorkerHandler<Env extends TaskWorkerEnv = TaskWorkerEnv> {
  fetch(request: Request, env: Env, ctx: ExecutionContextLike): Promise<Response>;
  scheduled(
    controller: { cron: string; scheduledTime: number },
    env: Env,
    ctx: ExecutionContextLike,
  ): Promise<void>;
  /** One sweep-then-execute run; what `scheduled` does. */
  runScheduled(env: Env): Promise<ScheduledRunReport>;
}

/** The part of Workers' `ExecutionContext` used here. */
export interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void;
}

async function closeQuietly(notifier: Notifier | undefined): Promise<void> {
  await notifier?.close().catch(() => undefined);
}

/** Builds the Worker's handlers. */
export function createCloudflareWorker<Env extends TaskWorkerEnv = TaskWorkerEnv>(
  options: CloudflareWorkerOptions,
): TaskWorkerHandler<Env> {
  async function runScheduled(env: Env): Promise<ScheduledRunReport> {
    const started = Date.now();
    const budgetMs = options.budgetMs ?? 25_000;
    const db = databaseFromEnv(env);
    const schema = schemaFromEnv(env);
    const notifier = notifierFromBindings(env);
    const pending: Promise<unknown>[] = [];
    const publish = (events: TaskEvent[]) => {
      if (notifier && events.length > 0) pending.push(publishTaskEvents(notifier, schema, events));
    };
    const { swept } = await createMaintainer({ db, schema, backoff: options.backoff }).runOnce();
    publish(sweptTaskEvents(swept));
    const executed = await runDueTasks({
      db,
      tasks: options.tasks,
      schema,
      budgetMs: Math.max(0, budgetMs - (Date.now() - started)),
      concurrency: options.concurrency,
      retry: options.retry,
      queues: options.queues,
      lease: options.lease,
      longTasks: options.longTasks,
      maxCutOffs: options.maxCutOffs,
      backoff: options.backoff,
      workerId: `cloudflare:${crypto.randomUUID().slice(0, 8)}`,
      onLanded: (landed) => publish(landedTaskEvents(landed)),
    });
    await Promise.all(pending);
    await closeQuietly(notifier);
    return { swept, executed };
  }

  // One throttle per isolate: the app is built per request, its lockouts must outlive one.
  const authThrottle = createAuthThrottle();
  return {
    runScheduled,
    async fetch(request, env, ctx) {
      const database = databaseFromEnv(env);
      const schema = schemaFromEnv(env);
      const notifier = notifierFromBindings(env);
      // Publishes go to waitUntil: the response does not wait for Upstash.
      const client = createTaskClient({ database, schema, notifier, waitUntil: (p) => ctx.waitUntil(p) });
      const app = createApp({
        database,
        client,
        schema,
        apiToken: requireBinding(env, 'TASK_WORKER_API_TOKEN'),
        maxWaitSeconds: options.maxWaitSeconds ?? 30,
        authThrottle,
      });
      // The notifier is not closed here: its publishes may still be running in waitUntil, and
      // REST holds no connection once the request's subscriptions (if any) ended.
      return app.fetch(request);
    },
    async scheduled(controller, env, ctx) {
      const run = runScheduled(env).then((report) => {
        console.log(
          JSON.stringify({
            event: 'cron_run',
            cron: controller.cron,
            swept: report.swept.length,
            ...report.executed,
          }),
        );
      });
      ctx.waitUntil(run);
      await run;
    },
  };
}

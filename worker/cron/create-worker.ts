/**
 * The Cloudflare Worker factory: `fetch` serves the HTTP API; `scheduled` (the cron trigger)
 * runs the maintainer once (worker/maintenance/: expired leases) and then runs due tasks whose
 * handlers the Worker registers, within a time budget, over Neon HTTP (and Upstash REST for
 * notifications) only. `fetch` also answers `GET`/`POST /run?budget=<seconds>` (behind the API
 * token) with the same run, so another scheduler can drive the Worker too.
 *
 * Timeouts here are the `AbortSignal` only: workerd cannot kill a running handler, so a
 * handler that ignores its signal keeps running until the platform ends the invocation; its
 * lease then expires and the next sweep recovers the task. Use the container worker for
 * CPU-heavy or untrusted handlers.
 * @module
 */
import type { TaskRegistry } from '../../src/core/define-tasks.ts';
import { createAuthThrottle } from '../../src/core/auth-throttle.ts';
import { createApp } from '../../src/http/create-app.ts';
import { createMetricsRegistry } from '../../src/core/metrics/metrics-registry.ts';
import type { RetryBackoff } from '../../src/core/retry-policy.ts';
import type { ScheduleDefinition } from '../../src/core/schedule.ts';
import { runScheduledOnce, type ScheduledRunReport } from './scheduled-run.ts';
import { checkRunBudget, runEndpoint } from './run-endpoint.ts';
import { createTaskClient } from '../../src/core/service/task-client.ts';
import {
  databaseFromEnv,
  dueHintFromBindings,
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
  /** The longest budget `POST /run?budget=<seconds>` may ask for, in ms (default: `budgetMs`). */
  maxBudgetMs?: number;
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
  /**
   * With Upstash bound, a cron run skips the database while the "anything due?" hint proves
   * nothing is (src/core/due-hint.ts); it still asks at least this often, in ms, for tasks
   * created without counting a change there (default: 3600000).
   */
  hintMaxAgeMs?: number;
  /**
   * Recurring schedules the Worker declares (`defineSchedules({...})`): synced into the database
   * by the first cron run of each isolate, then fired by whichever executor leads maintenance,
   * this Worker's cron runs included.
   */
  schedules?: Record<string, ScheduleDefinition>;
}

/** The handlers Workers call, with `runScheduled` exposed for tests and custom crons. */
export interface TaskWorkerHandler<Env extends TaskWorkerEnv = TaskWorkerEnv> {
  fetch(request: Request, env: Env, ctx: ExecutionContextLike): Promise<Response>;
  scheduled(
    controller: { cron: string; scheduledTime: number },
    env: Env,
    ctx: ExecutionContextLike,
  ): Promise<void>;
  /** One hint-check, maintainer tick and execution run; what `scheduled` does. */
  runScheduled(env: Env): Promise<ScheduledRunReport>;
}

/** The part of Workers' `ExecutionContext` used here. */
export interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void;
}

/** Builds the Worker's handlers. */
export function createCloudflareWorker<Env extends TaskWorkerEnv = TaskWorkerEnv>(
  options: CloudflareWorkerOptions,
): TaskWorkerHandler<Env> {
  const synced = { done: false };
  const budget = checkRunBudget(options.budgetMs, options.maxBudgetMs);
  async function runScheduled(env: Env, budgetMs = budget.budgetMs): Promise<ScheduledRunReport> {
    const { tasks, concurrency, retry, queues, lease, longTasks, maxCutOffs, backoff } = options;
    return await runScheduledOnce(env, {
      tasks,
      concurrency,
      retry,
      queues,
      lease,
      longTasks,
      maxCutOffs,
      backoff,
      budgetMs,
      hintMaxAgeMs: options.hintMaxAgeMs ?? 3_600_000,
      schedules: options.schedules,
      synced,
    });
  }

  // One throttle and one metrics registry per isolate: the app is built per request, its
  // lockouts, counters and cached queue gauges must outlive one.
  const authThrottle = createAuthThrottle();
  const metrics = createMetricsRegistry();
  return {
    runScheduled: (env) => runScheduled(env),
    async fetch(request, env, ctx) {
      const database = databaseFromEnv(env);
      const schema = schemaFromEnv(env);
      const notifier = notifierFromBindings(env);
      // Publishes go to waitUntil: the response does not wait for Upstash.
      const dueHint = dueHintFromBindings(env);
      const client = createTaskClient({
        database,
        schema,
        notifier,
        dueHint,
        waitUntil: (p) => ctx.waitUntil(p),
      });
      const app = createApp({
        database,
        client,
        schema,
        apiToken: requireBinding(env, 'TASK_WORKER_API_TOKEN'),
        maxWaitSeconds: options.maxWaitSeconds ?? 30,
        authThrottle,
        metrics,
        metricsToken: env.TASK_WORKER_METRICS_TOKEN || undefined,
        run: runEndpoint(budget, (budgetMs) => runScheduled(env, budgetMs)),
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
            skipped: report.skipped,
            leading: report.leading,
            swept: report.swept.length,
            fired: report.fired.length,
            ...report.executed,
          }),
        );
      });
      ctx.waitUntil(run);
      await run;
    },
  };
}

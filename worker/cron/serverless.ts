/**
 * `edge-task-worker/serverless`: the executor of the Cloudflare cron Worker for any platform's
 * scheduler. `createRunHandler` answers `GET` or `POST ?budget=<seconds>` behind a bearer token
 * (Vercel Cron, Upstash QStash, any URL scheduler); `createRunner` is the same run as a function
 * (`Deno.cron`, Netlify scheduled functions). Each run takes part in the maintainer election
 * (sweep, schedules) and runs due tasks within its budget, exactly as a Cloudflare cron run does.
 * Edge-safe: Web standards only, over Neon HTTP (and Upstash REST when set).
 *
 * ```ts
 * import { createRunHandler } from 'edge-task-worker/serverless';
 * import tasks from './tasks.ts';
 * const run = createRunHandler({ tasks, token: env.CRON_SECRET, env });
 * ```
 * @module
 */
export { createRunHandler, type RunHandlerOptions } from './run-handler.ts';
export { createRunner, type Runner, type RunnerOptions, type RunEnv } from './run-runner.ts';
export { DEFAULT_RUN_BUDGET_MS, type RunBudget, type RunReportJson } from './run-endpoint.ts';
export type { ScheduledRunReport } from './scheduled-run.ts';

/**
 * `edge-task-worker/cloudflare`: a Cloudflare Worker that serves the HTTP API and, on its cron
 * trigger, takes part in the maintainer election, sweeps expired leases and runs due tasks —
 * no container needed; with Upstash bound, an idle cron run sends no database request.
 *
 * ```ts
 * // worker.ts (wrangler.toml: main = "worker.ts", [triggers] crons = ["* * * * *"])
 * import { createCloudflareWorker } from 'edge-task-worker/cloudflare';
 * import tasks from './tasks.ts';
 * export default createCloudflareWorker({ tasks });
 * ```
 * @module
 */
export {
  createCloudflareWorker,
  type CloudflareWorkerOptions,
  type ExecutionContextLike,
  type TaskWorkerHandler,
} from './create-worker.ts';
export type { ScheduledRunReport } from './scheduled-run.ts';
export type { RunReportJson } from './run-endpoint.ts';
export type { TaskWorkerEnv } from './worker-env.ts';

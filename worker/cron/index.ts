/**
 * `edge-task-worker/cloudflare`: a Cloudflare Worker that serves the HTTP API and, on its cron
 * trigger, sweeps expired leases and runs due tasks — no container needed.
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
  type ScheduledRunReport,
  type TaskWorkerHandler,
} from './create-worker.ts';
export type { TaskWorkerEnv } from './worker-env.ts';

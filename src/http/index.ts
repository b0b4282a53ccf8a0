/**
 * `edge-task-worker/http`: the HTTP API as a Hono app. Edge-safe: Web standards only, so the
 * same app runs in Cloudflare Workers, Vercel Edge, Deno, Bun and Node.
 *
 * ```ts
 * import { createApp } from 'edge-task-worker/http';
 * import { createNeonHttpDatabase } from 'edge-task-worker/client';
 *
 * export default {
 *   fetch(request: Request, env: Env) {
 *     const database = createNeonHttpDatabase({ connectionString: env.DATABASE_URL });
 *     return createApp({ database, apiToken: env.TASK_WORKER_API_TOKEN }).fetch(request);
 *   },
 * };
 * ```
 * @module
 */
export { createApp, type AppOptions } from './create-app.ts';
export { HttpError, type ErrorBody, type ErrorLogger } from './error-response.ts';
export type { AnyLogger, PinoLikeLogger } from '../core/logger.ts';
export { MAX_JSON_DEPTH } from './json-body.ts';
export { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, type TaskListJson } from './routes-list.ts';
export type { StatsJson, StatusCounts, Throughput } from './routes-stats.ts';
export { taskToJson, type TaskJson } from './task-json.ts';
export { scheduleToJson, type ScheduleJson } from './schedule-json.ts';
export { createAuthThrottle, type AuthThrottle, type AuthThrottleOptions } from '../core/auth-throttle.ts';
export {
  createMetricsRegistry,
  type MetricsRegistry,
  type MetricsRegistryOptions,
} from '../core/metrics/metrics-registry.ts';
export { OVERFLOW_LABEL_VALUE } from '../core/metrics/metric-family.ts';
export type { AllowedHosts } from './host-guard.ts';

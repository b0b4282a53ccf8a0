/**
 * The Cloudflare Worker of this repository (wrangler.toml `main`): the HTTP API on `fetch`,
 * and on the cron trigger a sweep of expired leases followed by the due example tasks.
 * Bindings: DATABASE_URL, TASK_WORKER_API_TOKEN, UPSTASH_REDIS_REST_URL/TOKEN (secrets).
 * @module
 */
import tasks from '../examples/tasks.ts';
import { createCloudflareWorker } from './cron/index.ts';

export default createCloudflareWorker({ tasks, budgetMs: 25_000, concurrency: 4, retry: 1 });

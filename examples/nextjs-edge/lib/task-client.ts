import { createClient, type TaskClient } from 'edge-task-worker/client';

let client: TaskClient | undefined;

/**
 * The task client, created on first use and then reused for the life of the isolate.
 *
 * Created lazily rather than at import so that `next build`, which imports route modules,
 * does not need `DATABASE_URL`. Reusing it is safe: every statement (Neon's HTTP driver) and
 * every publish or subscription (Upstash REST) is its own `fetch`, so no connection outlives
 * a request.
 *
 * Reads `DATABASE_URL` (your Neon connection string), `TASK_WORKER_SCHEMA` (default:
 * task_worker), `UPSTASH_REDIS_REST_URL`/`_TOKEN` (optional: announce tasks and wait by
 * subscription instead of polling), and `NEON_FETCH_ENDPOINT` and `NEON_AUTH_TOKEN` for the
 * local endpoint of `task-worker dev`, which refuses requests without its token.
 */
export function taskClient(): TaskClient {
  client ??= createClient.fromEnv(process.env);
  return client;
}

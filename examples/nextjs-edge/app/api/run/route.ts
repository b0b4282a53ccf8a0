import { createRunHandler } from 'edge-task-worker/serverless';
import tasks from '../../../lib/tasks.ts';

// Vercel Cron calls `GET /api/run` (vercel.json) with `Authorization: Bearer $CRON_SECRET`;
// other schedulers (QStash, a curl in CI) may POST. Each call sweeps expired leases, fires due
// schedules (when it wins the maintainer election) and runs due tasks for `?budget=` seconds
// (default 25, at most 50 here), then answers with what it did.
//
// The Node.js runtime, because `maxDuration` (the function's time limit, in seconds) applies to
// it and a run answers only at its end, which the Edge Runtime allows within 25 s only. The
// handler itself is edge-safe, so `runtime = 'edge'` also works for budgets well under 25 s.
export const runtime = 'nodejs';
export const maxDuration = 60;

let handler: ((request: Request) => Promise<Response>) | undefined;

/**
 * Created on first use rather than at import, so that `next build` needs neither
 * `DATABASE_URL` nor `CRON_SECRET`; then reused, like its credential throttle.
 */
function runHandler(): (request: Request) => Promise<Response> {
  handler ??= createRunHandler({
    tasks,
    token: process.env.CRON_SECRET ?? '',
    // DATABASE_URL, TASK_WORKER_SCHEMA, UPSTASH_REDIS_REST_URL/_TOKEN (optional: then an idle
    // run costs no database request), as lib/task-client.ts reads them.
    env: process.env,
    budgetMs: 25_000,
    // Leaves 10 s of maxDuration for the last write-backs and the answer.
    maxBudgetMs: 50_000,
    // Vercel sets X-Forwarded-For itself: wrong tokens lock out their sender, not the cron.
    trustProxy: true,
  });
  return handler;
}

/** `GET /api/run?budget=<seconds>`: what Vercel Cron sends. */
export function GET(request: Request): Promise<Response> {
  return runHandler()(request);
}

/** `POST /api/run?budget=<seconds>`: the same, for schedulers that POST (QStash). */
export function POST(request: Request): Promise<Response> {
  return runHandler()(request);
}

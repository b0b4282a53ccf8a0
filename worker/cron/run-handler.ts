/**
 * `createRunHandler`: the serverless executor behind a URL, for any scheduler that calls one
 * (Vercel Cron, Upstash QStash, GitHub Actions, cron-job.org, ...). The handler is the HTTP
 * app's `/run` route alone: the same bearer check, credential throttle and error answers as the
 * API (src/http), whatever path the platform routes to it. Edge-safe.
 * @module
 */
import { ConfigError } from '../../src/core/errors.ts';
import type { AuthThrottle, AuthThrottleOptions } from '../../src/core/auth-throttle.ts';
import { createApp } from '../../src/http/create-app.ts';
import type { ErrorLogger } from '../../src/http/error-response.ts';
import { runEndpoint } from './run-endpoint.ts';
import { buildRunner, type RunnerOptions } from './run-runner.ts';

/** Options of {@link createRunHandler}: a runner's, and who may call it. */
export interface RunHandlerOptions extends RunnerOptions {
  /**
   * The bearer token callers must send (`Authorization: Bearer <token>`): on Vercel the
   * `CRON_SECRET` that Vercel Cron sends. Required; no whitespace.
   */
  token: string;
  /**
   * Back-off for wrong tokens, as the API's (`createApp`'s `authThrottle`; default: 5 failures,
   * then 1 s doubling up to 15 min). Kept by the handler, so per isolate or process.
   */
  authThrottle?: AuthThrottleOptions | AuthThrottle | false;
  /**
   * Key the throttle on the last `X-Forwarded-For` address (default: false). Turn it on where
   * the platform sets that header itself (Vercel, Netlify): otherwise every caller shares one
   * key, and a guesser's lockout also locks out the scheduler.
   */
  trustProxy?: boolean;
  /** Receives errors answered as 500 or 503 (default: `console.error`). */
  onError?: ErrorLogger;
}

/** The path the app serves the run on; every request to the handler is answered as this route. */
const RUN_PATH = '/run';

/** `request` as a request for `/run` (query, method, headers and body kept). */
function atRunPath(request: Request): Request {
  const url = new URL(request.url);
  if (url.pathname === RUN_PATH) return request;
  url.pathname = RUN_PATH;
  return new Request(url, request);
}

/**
 * Creates the handler of `GET` or `POST <any path>?budget=<seconds>`: one run of the serverless
 * executor (the due hint, the maintainer election with its sweep and schedule firing, then due
 * tasks within the budget), answered 200 `{ budgetMs, skipped, leading, swept, fired, executed }`.
 * Without the right token: 401 `UNAUTHORIZED`, then 429 `TOO_MANY_ATTEMPTS`; a bad `budget`:
 * 400 `INVALID_BUDGET`; another method: 405; an unreachable database: 503.
 *
 * ```ts
 * // app/api/run/route.ts (Next.js on Vercel, with a cron in vercel.json)
 * import { createRunHandler } from 'edge-task-worker/serverless';
 * import tasks from '../../../lib/tasks.ts';
 * export const maxDuration = 60;
 * let run: ((request: Request) => Promise<Response>) | undefined;
 * export function GET(request: Request) {
 *   run ??= createRunHandler({ tasks, token: process.env.CRON_SECRET!, env: process.env, trustProxy: true });
 *   return run(request);
 * }
 * ```
 * @throws ConfigError when `token` is missing or holds whitespace, or as `createRunner`.
 */
export function createRunHandler(options: RunHandlerOptions): (request: Request) => Promise<Response> {
  const { token } = options ?? {};
  if (typeof token !== 'string' || token === '' || /\s/.test(token)) {
    throw new ConfigError(
      'createRunHandler needs token: the bearer token the scheduler sends (e.g. CRON_SECRET), without whitespace.',
    );
  }
  const { runner, parts } = buildRunner(options);
  const app = createApp({
    database: parts.db,
    schema: parts.schema,
    apiToken: token,
    authThrottle: options.authThrottle,
    trustProxy: options.trustProxy,
    onError: options.onError,
    run: runEndpoint(runner.budget, (budgetMs) => runner.run(budgetMs)),
  });
  return async (request) => await app.fetch(atRunPath(request));
}

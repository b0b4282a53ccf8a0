/**
 * `GET` or `POST /run?budget=<seconds>`: one run of the serverless executor (scheduled-run.ts)
 * answered with its report. Platform-neutral: the Cloudflare Worker mounts it in its HTTP app
 * (`createApp({ run })`, behind the API token) and `createRunHandler` (run-handler.ts) serves it
 * on its own for Vercel Cron, QStash and any other scheduler that calls a URL. Authentication
 * is the app's; this part reads the budget and runs. Edge-safe.
 *
 * GET is accepted because Vercel Cron (and most URL schedulers) can only send GET; a page of
 * another site cannot trigger a run either way, since the bearer token it would need cannot be
 * attached without a CORS preflight, which the app never grants.
 * @module
 */
import { ConfigError } from '../../src/core/errors.ts';
import { HttpError } from '../../src/http/error-response.ts';
import type { InlineRunResult } from './inline-executor.ts';
import type { ScheduledRunReport } from './scheduled-run.ts';

/** The body of a `/run` answer. */
export interface RunReportJson {
  /** The budget the run had, in ms (`?budget=` in seconds, capped by `maxBudgetMs`). */
  budgetMs: number;
  /** The due hint proved nothing was due: the run sent no database request. */
  skipped: boolean;
  /** This run held the maintainer lease, so it swept expired leases and fired due schedules. */
  leading: boolean;
  /** Tasks whose expired lease the run's sweep recovered. */
  swept: number;
  /** Tasks the due schedules created. */
  fired: number;
  /** What the run executed. */
  executed: InlineRunResult;
}

/** A run's wall-clock budget: the default and the most a request may ask for, in ms. */
export interface RunBudget {
  budgetMs: number;
  maxBudgetMs: number;
}

/** The default budget of a run: 25 s, under the usual serverless limits. */
export const DEFAULT_RUN_BUDGET_MS = 25_000;

const SECONDS = /^\d+(\.\d+)?$/;
const ALLOWED = 'GET, POST';

/**
 * Checks the budget options: `budgetMs` defaults to 25 s, `maxBudgetMs` to `budgetMs` (so by
 * default `?budget=` can only shorten a run).
 * @throws ConfigError for a budget that is not a positive number of ms, or a default above the cap.
 */
export function checkRunBudget(budgetMs?: number, maxBudgetMs?: number): RunBudget {
  const positive = (name: string, value: number) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new ConfigError(`${name} must be a positive number of milliseconds, got ${String(value)}.`);
    }
    return value;
  };
  const budget = positive('budgetMs', budgetMs ?? DEFAULT_RUN_BUDGET_MS);
  const max = positive('maxBudgetMs', maxBudgetMs ?? budget);
  if (budget > max) throw new ConfigError(`budgetMs (${budget}) must not exceed maxBudgetMs (${max}).`);
  return { budgetMs: budget, maxBudgetMs: max };
}

/**
 * The budget a request asks for (`?budget=` in seconds, e.g. `25` or `2.5`), capped at
 * `maxBudgetMs`; the default budget without one.
 * @throws HttpError 400 `INVALID_BUDGET` for anything but a positive number of seconds.
 */
export function requestedBudgetMs(request: Request, budget: RunBudget): number {
  const raw = new URL(request.url).searchParams.get('budget');
  if (raw === null || raw === '') return budget.budgetMs;
  const seconds = SECONDS.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new HttpError(
      400,
      'INVALID_BUDGET',
      `budget must be a positive number of seconds, e.g. 25 or 2.5, got ${JSON.stringify(raw.slice(0, 50))}.`,
      { field: 'budget' },
    );
  }
  return Math.min(Math.round(seconds * 1000), budget.maxBudgetMs);
}

/** The answer's body: the report with counts instead of the swept and fired tasks. */
export function runReportJson(report: ScheduledRunReport, budgetMs: number): RunReportJson {
  return {
    budgetMs,
    skipped: report.skipped,
    leading: report.leading,
    swept: report.swept.length,
    fired: report.fired.length,
    executed: report.executed,
  };
}

/**
 * Builds the `/run` endpoint over `run` (one run with the budget given). Methods other than GET
 * and POST get 405 `METHOD_NOT_ALLOWED` (HEAD too: it would run tasks to answer nothing); the
 * errors it throws are answered by the app that mounts it (`createApp`'s error handling).
 */
export function runEndpoint(
  budget: RunBudget,
  run: (budgetMs: number) => Promise<ScheduledRunReport>,
): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'POST') {
      throw new HttpError(
        405,
        'METHOD_NOT_ALLOWED',
        `${request.method} is not allowed here; use ${ALLOWED}.`,
        {
          headers: { Allow: ALLOWED },
        },
      );
    }
    const budgetMs = requestedBudgetMs(request, budget);
    const report = await run(budgetMs);
    return Response.json(runReportJson(report, budgetMs), { headers: { 'Cache-Control': 'no-store' } });
  };
}

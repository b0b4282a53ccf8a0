/**
 * The serverless executor outside Cloudflare: a runner that does one run (scheduled-run.ts:
 * the due hint, the maintainer election with its sweep and schedule firing, the due tasks
 * within a budget) over a database given or read from env. `createRunHandler` (run-handler.ts)
 * puts it behind a token-protected URL; platforms that call code on a schedule without a URL
 * (Deno.cron, Netlify scheduled functions) can call `run()` directly. Edge-safe.
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import type { DueHint } from '../../src/core/due-hint.ts';
import { ConfigError } from '../../src/core/errors.ts';
import type { Notifier } from '../../src/core/notifier.ts';
import { DEFAULT_SCHEMA } from '../../src/core/schema-name.ts';
import type { CloudflareWorkerOptions } from './create-worker.ts';
import { checkRunBudget, type RunBudget } from './run-endpoint.ts';
import { runScheduled, type RunParts, type ScheduledRunReport } from './scheduled-run.ts';
import {
  databaseFromEnv,
  dueHintFromBindings,
  notifierFromBindings,
  schemaFromEnv,
  type TaskWorkerEnv,
} from './worker-env.ts';

/** The env vars a runner reads when no `database` is given (`process.env`, Workers bindings, ...). */
export interface RunEnv {
  /** Neon connection string (required). */
  DATABASE_URL?: string | undefined;
  /** SQL-over-HTTP endpoint; only for local development against `task-worker dev`. */
  NEON_FETCH_ENDPOINT?: string | undefined;
  /** Bearer token of Neon's HTTP driver (the local endpoint's with `task-worker dev`). */
  NEON_AUTH_TOKEN?: string | undefined;
  /** Schema (default: task_worker). */
  TASK_WORKER_SCHEMA?: string | undefined;
  /** Upstash REST: notifications and the "anything due?" hint (both needed; optional). */
  UPSTASH_REDIS_REST_URL?: string | undefined;
  UPSTASH_REDIS_REST_TOKEN?: string | undefined;
  [key: string]: unknown;
}

/** Options of {@link createRunner}: the executor's, as the Cloudflare Worker's, and where it runs. */
export interface RunnerOptions extends Pick<
  CloudflareWorkerOptions,
  | 'tasks'
  | 'concurrency'
  | 'retry'
  | 'queues'
  | 'lease'
  | 'longTasks'
  | 'maxCutOffs'
  | 'backoff'
  | 'hintMaxAgeMs'
  | 'schedules'
> {
  /**
   * Wall-clock budget of a run, in ms (default: 25000). Keep it under the platform's limit for
   * one invocation (Vercel: `maxDuration`), with a few seconds to spare for the answer.
   */
  budgetMs?: number;
  /** The longest budget a run may be asked for (`?budget=`), in ms (default: `budgetMs`). */
  maxBudgetMs?: number;
  /**
   * The bindings to read the database (and Upstash) from: `DATABASE_URL`, `NEON_FETCH_ENDPOINT`,
   * `NEON_AUTH_TOKEN`, `TASK_WORKER_SCHEMA`, `UPSTASH_REDIS_REST_URL`/`_TOKEN`, as
   * `createClient.fromEnv` reads them. Ignored when `database` is given.
   */
  env?: RunEnv;
  /** The database driver, instead of `env` (e.g. node-postgres on a Node platform). */
  database?: Database;
  /** With `database`: the schema (default: task_worker). */
  schema?: string;
  /** Publishes task events (default: Upstash from `env` when set, else none). */
  notifier?: Notifier;
  /** The "anything due?" hint (default: Upstash from `env` when set, else none). */
  dueHint?: DueHint;
}

/** One run at a time, or several: the election keeps maintenance to one, claims skip each other. */
export interface Runner {
  /**
   * One run: the hint, a maintainer tick, then due tasks for `budgetMs` (default: the runner's
   * `budgetMs`; capped at `maxBudgetMs`).
   */
  run(budgetMs?: number): Promise<ScheduledRunReport>;
  /** The budget options, checked. */
  readonly budget: RunBudget;
}

function text(env: RunEnv, key: keyof RunEnv & string): string | undefined {
  const value = env[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The parts of `options`: given, or built from `env` (nothing is connected yet). */
function runPartsOf(options: RunnerOptions): RunParts {
  if (options.database) {
    const schema = options.schema ?? DEFAULT_SCHEMA;
    return { db: options.database, schema, notifier: options.notifier, dueHint: options.dueHint };
  }
  const env = options.env;
  if (!env) throw new ConfigError('The runner needs database, or env with DATABASE_URL.');
  const databaseUrl = text(env, 'DATABASE_URL');
  if (!databaseUrl) throw new ConfigError('DATABASE_URL is not set; the runner needs it.');
  const bindings: TaskWorkerEnv = {
    DATABASE_URL: databaseUrl,
    NEON_FETCH_ENDPOINT: text(env, 'NEON_FETCH_ENDPOINT'),
    NEON_AUTH_TOKEN: text(env, 'NEON_AUTH_TOKEN'),
    TASK_WORKER_SCHEMA: text(env, 'TASK_WORKER_SCHEMA'),
    UPSTASH_REDIS_REST_URL: text(env, 'UPSTASH_REDIS_REST_URL'),
    UPSTASH_REDIS_REST_TOKEN: text(env, 'UPSTASH_REDIS_REST_TOKEN'),
  };
  return {
    db: databaseFromEnv(bindings),
    schema: schemaFromEnv(bindings),
    notifier: options.notifier ?? notifierFromBindings(bindings),
    dueHint: options.dueHint ?? dueHintFromBindings(bindings),
  };
}

/** A runner and the parts it runs on (for the handler's HTTP app). */
export function buildRunner(options: RunnerOptions): { runner: Runner; parts: RunParts } {
  if (typeof options?.tasks !== 'object' || options.tasks === null) {
    throw new ConfigError('The runner needs tasks: the registry of handlers it may execute (defineTasks).');
  }
  const budget = checkRunBudget(options.budgetMs, options.maxBudgetMs);
  const parts = runPartsOf(options);
  const { tasks, concurrency, retry, queues, lease, longTasks, maxCutOffs, backoff, schedules } = options;
  const synced = { done: false };
  const run = async (budgetMs = budget.budgetMs): Promise<ScheduledRunReport> => {
    if (!(budgetMs > 0)) throw new RangeError(`budgetMs must be a positive number, not ${budgetMs}`);
    return await runScheduled(parts, {
      ...{ tasks, concurrency, retry, queues, lease, longTasks, maxCutOffs, backoff, schedules },
      budgetMs: Math.min(budgetMs, budget.maxBudgetMs),
      hintMaxAgeMs: options.hintMaxAgeMs ?? 3_600_000,
      synced,
      workerIdPrefix: 'serverless',
    });
  };
  return { runner: { run, budget }, parts };
}

/**
 * Creates a runner: the serverless executor as a function, for platforms that call code on a
 * schedule (`Deno.cron`, a Netlify scheduled function). Builds no connection until a run.
 * @throws ConfigError when `tasks` is missing, a budget is out of range, or neither
 * `database` nor `env.DATABASE_URL` is given.
 */
export function createRunner(options: RunnerOptions): Runner {
  return buildRunner(options).runner;
}

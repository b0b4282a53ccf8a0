/**
 * The bindings the Cloudflare Worker reads. Secrets come from `wrangler secret put` (or
 * `.dev.vars` locally), never from code.
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import { createNeonHttpDatabase } from '../../src/adapters/edge/neon-http-database.ts';
import { ConfigError } from '../../src/core/errors.ts';
import type { Notifier } from '../../src/core/notifier.ts';
import { createUpstashNotifier } from '../../src/adapters/edge/upstash-notifier.ts';
import { DEFAULT_SCHEMA } from '../../src/core/schema-name.ts';
import type { DueHint } from '../../src/core/due-hint.ts';
import { createUpstashDueHint } from '../../src/adapters/edge/upstash-due-hint.ts';

export interface TaskWorkerEnv {
  /** Neon connection string (secret). */
  DATABASE_URL: string;
  /** Bearer token of the HTTP API (secret). */
  TASK_WORKER_API_TOKEN?: string;
  /** A token that opens only `GET /metrics`, for Prometheus (secret; optional). */
  TASK_WORKER_METRICS_TOKEN?: string;
  /** Upstash REST URL and token, for notifications (secrets; optional). */
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** SQL-over-HTTP endpoint; only for local development against `task-worker dev`. */
  NEON_FETCH_ENDPOINT?: string;
  /**
   * Bearer token of Neon's HTTP driver (secret; optional): the Neon Authorize JWT with Neon,
   * the local endpoint's token with `task-worker dev` (which prints it).
   */
  NEON_AUTH_TOKEN?: string;
  /** Schema (default: task_worker). */
  TASK_WORKER_SCHEMA?: string;
}

/** Reads a required binding, naming it when it is missing. */
export function requireBinding(env: Partial<TaskWorkerEnv>, name: keyof TaskWorkerEnv): string {
  const value = env[name];
  if (typeof value !== 'string' || value === '') {
    throw new ConfigError(
      `The Worker binding ${name} is not set: add it with "wrangler secret put ${name}".`,
    );
  }
  return value;
}

/** The database of a request or cron run, over Neon HTTP. */
export function databaseFromEnv(env: TaskWorkerEnv): Database {
  return createNeonHttpDatabase({
    connectionString: requireBinding(env, 'DATABASE_URL'),
    fetchEndpoint: env.NEON_FETCH_ENDPOINT || undefined,
    authToken: env.NEON_AUTH_TOKEN || undefined,
  });
}

/** The Upstash notifier of the bindings, or none when they are not set (polling only). */
export function notifierFromBindings(env: TaskWorkerEnv): Notifier | undefined {
  if (!env.UPSTASH_REDIS_REST_URL || !env.UPSTASH_REDIS_REST_TOKEN) return undefined;
  return createUpstashNotifier({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });
}

/**
 * The cron runs' "anything due?" hint in the Upstash database of the bindings, or none when
 * they are not set (then every cron run asks the database).
 */
export function dueHintFromBindings(env: TaskWorkerEnv): DueHint | undefined {
  if (!env.UPSTASH_REDIS_REST_URL || !env.UPSTASH_REDIS_REST_TOKEN) return undefined;
  return createUpstashDueHint({
    url: env.UPSTASH_REDIS_REST_URL,
    token: env.UPSTASH_REDIS_REST_TOKEN,
    schema: schemaFromEnv(env),
  });
}

export function schemaFromEnv(env: TaskWorkerEnv): string {
  return env.TASK_WORKER_SCHEMA || DEFAULT_SCHEMA;
}

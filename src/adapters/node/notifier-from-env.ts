/**
 * Picks the notifier of a Node process (worker, API, dev stack) from its environment.
 * @module
 */
import type { Database } from '../../core/database.ts';
import { ConfigError } from '../../core/errors.ts';
import type { Notifier } from '../../core/notifier.ts';
import { createNoneNotifier } from '../edge/none-notifier.ts';
import { createUpstashNotifier } from '../edge/upstash-notifier.ts';
import { createPostgresNotifier } from './postgres-notifier.ts';
import { createRedisNotifier } from './redis-notifier.ts';
import type { DueHint } from '../../core/due-hint.ts';
import { createUpstashDueHint } from '../edge/upstash-due-hint.ts';
import { createRedisDueHint } from './redis-due-hint.ts';

/** Which transport carries notifications. */
export type NotifierKind = 'auto' | 'redis' | 'upstash' | 'postgres' | 'none';

export interface NotifierEnv {
  REDIS_URL?: string;
  REDIS_PASSWORD?: string;
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  DATABASE_URL?: string;
  [key: string]: string | undefined;
}

/**
 * The Cloudflare cron Worker's "anything due?" hint in the Redis a notifier of `kind` uses
 * (Redis over TCP or Upstash REST; none for the others), for `schema`. A worker counts its
 * retries, sweeps and put-backs there, a client the tasks it creates.
 */
export function dueHintFromEnv(
  env: NotifierEnv,
  kind: Exclude<NotifierKind, 'auto'>,
  schema: string,
): (DueHint & { close?: () => Promise<void> }) | undefined {
  if (kind === 'redis' && env.REDIS_URL) {
    return createRedisDueHint({ url: env.REDIS_URL, password: env.REDIS_PASSWORD || undefined, schema });
  }
  if (kind === 'upstash' && env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN) {
    return createUpstashDueHint({
      url: env.UPSTASH_REDIS_REST_URL,
      token: env.UPSTASH_REDIS_REST_TOKEN,
      schema,
    });
  }
  return undefined;
}

/**
 * Builds the notifier for `kind` (default: auto: Redis over TCP when `REDIS_URL` is set,
 * else Upstash REST when `UPSTASH_REDIS_REST_URL` and `_TOKEN` are, else none).
 * `postgres` uses LISTEN/NOTIFY on `DATABASE_URL` (a direct, non-pooled connection).
 * @throws ConfigError when the chosen transport's variables are missing.
 */
export function notifierFromEnv(
  env: NotifierEnv,
  kind: NotifierKind = 'auto',
  options: { database?: Database } = {},
): { notifier: Notifier; kind: Exclude<NotifierKind, 'auto'> } {
  const redisUrl = env.REDIS_URL || undefined;
  const upstashUrl = env.UPSTASH_REDIS_REST_URL || undefined;
  const upstashToken = env.UPSTASH_REDIS_REST_TOKEN || undefined;
  const chosen =
    kind !== 'auto' ? kind : redisUrl ? 'redis' : upstashUrl && upstashToken ? 'upstash' : 'none';
  switch (chosen) {
    case 'redis':
      if (!redisUrl) throw new ConfigError('The redis notifier needs REDIS_URL.');
      return {
        kind: chosen,
        notifier: createRedisNotifier({ url: redisUrl, password: env.REDIS_PASSWORD || undefined }),
      };
    case 'upstash':
      if (!upstashUrl || !upstashToken) {
        throw new ConfigError(
          'The upstash notifier needs UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN.',
        );
      }
      return { kind: chosen, notifier: createUpstashNotifier({ url: upstashUrl, token: upstashToken }) };
    case 'postgres':
      if (!env.DATABASE_URL) throw new ConfigError('The postgres notifier needs DATABASE_URL.');
      return {
        kind: chosen,
        notifier: createPostgresNotifier({ connectionString: env.DATABASE_URL, database: options.database }),
      };
    case 'none':
      return { kind: chosen, notifier: createNoneNotifier() };
    default:
      throw new ConfigError(
        `Unknown notifier "${String(kind)}": use auto, redis, upstash, postgres or none.`,
      );
  }
}

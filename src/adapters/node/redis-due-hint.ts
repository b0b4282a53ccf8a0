/**
 * The cron executor's "anything due?" hint (src/core/due-hint.ts) in Redis over TCP, for
 * container workers and Node clients that share a Redis with a Cloudflare cron Worker (which
 * reads the same keys through Upstash REST). Connects on first use; a command fails fast when
 * Redis is down (it is only a hint).
 * @module
 */
import { Redis } from 'ioredis';
import { dueHintKeys, type DueHint, type DueHintReading } from '../../core/due-hint.ts';
import { DEFAULT_SCHEMA } from '../../core/schema-name.ts';
import { redisConnectionOptions, type RedisConnection } from './redis-connection-options.ts';

export type RedisDueHintOptions = RedisConnection & {
  /** (default: task_worker) */
  schema?: string;
  /** How long one command may take, in ms (default: 3000). */
  timeoutMs?: number;
};

/** A due hint that can be closed (it owns a connection). */
export interface ClosableDueHint extends DueHint {
  close(): Promise<void>;
}

/** The hint of `schema` in the Redis at `url`. */
export function createRedisDueHint(options: RedisDueHintOptions): ClosableDueHint {
  const redis = new Redis({
    ...redisConnectionOptions(options),
    connectionName: 'task-worker:due-hint',
    lazyConnect: true,
    enableOfflineQueue: true,
    maxRetriesPerRequest: 0,
    commandTimeout: options.timeoutMs ?? 3000,
    retryStrategy: (times) => Math.min(100 * 2 ** times, 5000),
  });
  redis.on('error', () => undefined); // each command reports its own failure
  const keys = dueHintKeys(options.schema ?? DEFAULT_SCHEMA);
  const number = (value: string | null): number | null => {
    if (value === null) return null;
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : null;
  };
  return {
    async mark() {
      await redis.incr(keys.changes);
    },
    async read(): Promise<DueHintReading> {
      const [changes, checked, nextAt] = await redis.mget(keys.changes, keys.checked, keys.nextAt);
      return {
        changes: number(changes ?? null) ?? 0,
        checked: number(checked ?? null),
        nextAt: number(nextAt ?? null),
      };
    },
    async settle(reading, nextAt) {
      await redis.mset(keys.checked, String(reading.changes), keys.nextAt, String(Math.round(nextAt)));
    },
    async close() {
      redis.disconnect();
    },
  };
}

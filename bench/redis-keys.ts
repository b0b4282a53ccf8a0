/**
 * The bench's Redis: connection options from `BENCH_REDIS_URL`, and deleting the keys of a
 * prefix with SCAN + UNLINK (never FLUSHDB or FLUSHALL: the Redis is shared).
 * @module
 */
import { Redis } from 'ioredis';

/** host, port and database number of a `redis://host:port/db` URL. */
export function redisConnectionOf(redisUrl: string): { host: string; port: number; db: number } {
  const url = new URL(redisUrl);
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : 6379,
    db: Number(url.pathname.replace(/^\//, '') || 0),
  };
}

/** Deletes every key that starts with `prefix` (which must start with `bench_`); returns how many. */
export async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<number> {
  if (!prefix.startsWith('bench_'))
    throw new Error(`Refusing to delete Redis keys outside bench_*: ${prefix}`);
  const redis = new Redis({ ...redisConnectionOf(redisUrl), lazyConnect: true, maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

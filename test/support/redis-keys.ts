/**
 * Removes the keys a test left in the shared Redis under its schema's prefix (the due hint's
 * `<schema>:due-hint:*` keys have no expiry), so the runs of a suite do not pile keys up on the
 * services CI shares.
 */
import * as ioredis from 'ioredis';

// The named export, or (where a loader wraps the CommonJS module, as vitest's global setup does)
// the default one.
const Redis = ioredis.Redis ?? (ioredis as unknown as { default: typeof ioredis.Redis }).default;

export async function deleteKeysUnder(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}

/**
 * The cron executor's "anything due?" hint (src/core/due-hint.ts) in Upstash Redis over REST:
 * one INCR per marked change, one MGET per cron tick, one MSET per check. Edge-safe.
 * @module
 */
import { dueHintKeys, type DueHint, type DueHintReading } from '../../core/due-hint.ts';
import { DEFAULT_SCHEMA } from '../../core/schema-name.ts';
import { withTimeout } from './timeout.ts';
import { upstashRedis, type UpstashConnection } from './upstash-notifier.ts';

export type UpstashDueHintOptions = UpstashConnection & {
  /** (default: task_worker) */
  schema?: string;
  /** How long one request may take before it rejects, in ms (default: 3000). */
  timeoutMs?: number;
};

/** The hint of `schema` in the Upstash database given. */
export function createUpstashDueHint(options: UpstashDueHintOptions): DueHint {
  const redis = upstashRedis(options, 1);
  const keys = dueHintKeys(options.schema ?? DEFAULT_SCHEMA);
  const timeoutMs = options.timeoutMs ?? 3000;
  const number = (value: unknown): number | null => {
    if (value === null || value === undefined) return null;
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : null;
  };
  return {
    async mark() {
      await withTimeout(redis.incr(keys.changes), timeoutMs, 'Upstash INCR');
    },
    async read(): Promise<DueHintReading> {
      const [changes, checked, nextAt] = await withTimeout(
        redis.mget<unknown[]>(keys.changes, keys.checked, keys.nextAt),
        timeoutMs,
        'Upstash MGET',
      );
      return { changes: number(changes) ?? 0, checked: number(checked), nextAt: number(nextAt) };
    },
    async settle(reading, nextAt) {
      await withTimeout(
        redis.mset({ [keys.checked]: String(reading.changes), [keys.nextAt]: String(Math.round(nextAt)) }),
        timeoutMs,
        'Upstash MSET',
      );
    },
  };
}

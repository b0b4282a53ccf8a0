/**
 * Queue limits (flow control): at most N tasks of a queue running at once across all workers,
 * and at most N starts per period. Stored in `<schema>.queue_limits` (migration 0007) and
 * enforced by the claim (src/core/execution/claim.ts), so container workers and the Cloudflare
 * executor obey the same limits. Edge-safe.
 * @module
 */
import type { Database, Row } from '../database.ts';
import { TaskValidationError } from '../errors.ts';
import { FLOW_CONTROL_MAX_AGE_MS } from '../execution/claim.ts';
import { queueLimitStatements } from '../sql/flow-control-statements.ts';
import { validateQueueName } from '../validate-task.ts';

/** The limits `setQueueLimits` takes; an omitted or null limit is no limit. */
export interface QueueLimitsInput {
  /** At most this many tasks of the queue in `PROGRESS` at once, across all workers (1–1,000,000). */
  concurrency?: number | null;
  /**
   * At most `limit` tasks started per `periodSeconds` (0.001–86,400), in every window of that
   * length (a sliding window, not clock-aligned buckets). A start is a claim: a task that is
   * retried or put back starts again.
   */
  rate?: { limit: number; periodSeconds: number } | null;
}

/** A queue's limits as stored. */
export interface QueueLimits {
  queue: string;
  concurrency: number | null;
  rate: { limit: number; periodSeconds: number } | null;
  updatedAt: Date;
}

export interface QueueLimitsClient {
  /**
   * Sets (replaces) a queue's limits. Limits apply to claims that start afterwards; tasks
   * already running are not stopped, but they count. Changing a limited queue's limits takes
   * effect at the next claim; limiting a queue that had no limits resolves once every executor
   * of this version obeys them (executors look up which queues are limited at most a second
   * before a claim, so this waits about 1.5 s) and the queue's running tasks count.
   */
  setQueueLimits(queue: string, limits: QueueLimitsInput): Promise<QueueLimits>;
  /** A queue's limits, or `null` when it has none. */
  getQueueLimits(queue: string): Promise<QueueLimits | null>;
  /** Every queue's limits, by queue name. */
  listQueueLimits(): Promise<QueueLimits[]>;
  /** Removes a queue's limits (its keyed tasks keep their per-key limit); false when it had none. */
  clearQueueLimits(queue: string): Promise<boolean>;
}

/** How long `setQueueLimits` waits after limiting a queue that had no limits. */
export const LIMITS_IN_FORCE_MS = FLOW_CONTROL_MAX_AGE_MS + 500;

const MAX_LIMIT = 1_000_000;
const MAX_PERIOD_SECONDS = 86_400;

/** The queue-limit calls of the client, over `db` and `schema`. */
export function createQueueLimitsClient(
  db: Database,
  schema: string,
  options: { sleep?: (ms: number) => Promise<void> } = {},
): QueueLimitsClient {
  const sql = queueLimitStatements(schema);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  return {
    async setQueueLimits(queue, limits) {
      const { concurrency, rate } = validateQueueLimits(queue, limits);
      const { rows } = await db.query(sql.queueLimitsSet, [
        queue,
        concurrency,
        rate?.limit ?? null,
        rate?.periodSeconds ?? null,
      ]);
      const row = rows[0]!;
      if (row.created === true) {
        // Executors that saw no limits on this queue claim it with the plain statement until
        // they look again: wait until every one has, then count what the queue runs already
        // (the plain claim does not mark its runs as counted against limits).
        await sleep(LIMITS_IN_FORCE_MS);
        await db.query(sql.queueRunningCounted, [queue]);
      }
      return queueLimitsFromRow(row);
    },
    async getQueueLimits(queue) {
      const { rows } = await db.query(sql.queueLimitsGet, [validateQueueName(queue)]);
      return rows[0] ? queueLimitsFromRow(rows[0]) : null;
    },
    async listQueueLimits() {
      const { rows } = await db.query(sql.queueLimitsList);
      return rows.map(queueLimitsFromRow);
    },
    async clearQueueLimits(queue) {
      const { rowCount } = await db.query(sql.queueLimitsClear, [validateQueueName(queue)]);
      return rowCount > 0;
    },
  };
}

/** Checks `setQueueLimits` input; throws {@link TaskValidationError} (`INVALID_QUEUE`, `INVALID_QUEUE_LIMITS`). */
export function validateQueueLimits(queue: unknown, limits: unknown): Required<QueueLimitsInput> {
  validateQueueName(queue);
  const refuse = (field: string, message: string): never => {
    throw new TaskValidationError('INVALID_QUEUE_LIMITS', field, message);
  };
  if (typeof limits !== 'object' || limits === null || Array.isArray(limits)) {
    refuse('limits', 'Queue limits must be an object: { concurrency?, rate?: { limit, periodSeconds } }.');
  }
  const { concurrency = null, rate = null, ...unknown } = limits as QueueLimitsInput;
  const extra = Object.keys(unknown)[0];
  if (extra !== undefined) refuse(extra, `Unknown queue limit "${extra}"; known: concurrency, rate.`);
  const whole = (value: unknown, field: string): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_LIMIT) {
      refuse(field, `${field} must be an integer from 1 to ${MAX_LIMIT}, got ${String(value).slice(0, 50)}.`);
    }
    return value as number;
  };
  if (concurrency !== null) whole(concurrency, 'concurrency');
  if (rate !== null) {
    if (typeof rate !== 'object') refuse('rate', 'rate must be { limit, periodSeconds }.');
    whole(rate.limit, 'rate.limit');
    const period = rate.periodSeconds;
    if (typeof period !== 'number' || !(period >= 0.001 && period <= MAX_PERIOD_SECONDS)) {
      refuse('rate.periodSeconds', `rate.periodSeconds must be from 0.001 to ${MAX_PERIOD_SECONDS} seconds.`);
    }
  }
  if (concurrency === null && rate === null) {
    refuse('limits', 'Give concurrency, rate or both; clearQueueLimits removes a queue’s limits.');
  }
  return {
    concurrency,
    rate: rate === null ? null : { limit: rate.limit, periodSeconds: rate.periodSeconds },
  };
}

function queueLimitsFromRow(row: Row): QueueLimits {
  const rateLimit = row.rate_limit as number | null;
  return {
    queue: row.queue as string,
    concurrency: row.concurrency as number | null,
    rate: rateLimit === null ? null : { limit: rateLimit, periodSeconds: row.rate_period_seconds as number },
    updatedAt: row.updated_at as Date,
  };
}

/**
 * Batches write-backs: completions and failures that arrive together go to Postgres as one
 * fenced statement each (see src/core/execution/write-back.ts).
 *
 * - A statement that fails with an error that may go away (database unreachable, deadlock,
 *   shutdown) is retried, after 100 ms doubling up to 5 s.
 * - A statement Postgres refuses for good (SQLSTATE class 22, 23, 42 or 54; see
 *   `isPermanentWriteBackError`) is split in halves until only the rows it refuses are left,
 *   so the others land; each refused row is failed with a `WriteBackError` naming the refusal
 *   instead, and if even that is refused the row is dropped and reported: its task comes back
 *   when its lease expires. One bad value never holds up the rest of its batch.
 * - A row that matches nothing (the task was cancelled, or its lease was lost and another
 *   attempt owns it) is reported as refused (status null), never forced.
 * - What landed goes to `onLanded` once; if that throws, the error is reported and nothing
 *   is written again.
 *
 * Retry timers are unref'd: they never keep a process alive (shutdown waits with `drain`,
 * whose own deadline does). `close()` stops the retries for good.
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import type { RetryBackoff } from '../../src/core/retry-policy.ts';
import type { WorkerStatements } from '../../src/core/sql/worker-statements.ts';
import {
  isPermanentWriteBackError,
  unstorableOutcome,
  writeBackSettled,
  type Landed,
  type WriteBack,
  type WriteBackContext,
} from '../../src/core/execution/write-back.ts';

export type { Landed, WriteBack };

export interface CompleterOptions {
  db: Database;
  sql: WorkerStatements;
  workerId: string;
  backoff: RetryBackoff;
  now?: () => Date | undefined;
  /** Most tasks per statement (default: 500). */
  batchSize?: number;
  onLanded: (landed: Landed[]) => void;
  /**
   * A write-back failed (it is retried, or split and its refused rows failed instead or
   * dropped), or write-backs were given up; `pending` is how many wait in the queue.
   */
  onError: (error: unknown, pending: number) => void;
  /**
   * `onLanded` threw. What it was given did land and is not written again.
   * Default: `onError`, with a message saying so.
   */
  onLandedError?: (error: unknown, landed: readonly Landed[]) => void;
}

const FIRST_RETRY_MS = 100;
const LAST_RETRY_MS = 5000;

/** Items a write could not make, to be written again later, and why. */
interface Unwritten {
  items: WriteBack[];
  error: unknown;
}

export class Completer {
  private queue: WriteBack[] = [];
  private flushing: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay = FIRST_RETRY_MS;
  private idleWaiters: Array<() => void> = [];
  /** Set by close(), or when drain gave up: no more writes start, nothing is retried. */
  private closed = false;
  /** How many write-backs were given up so far. */
  private givenUp = 0;

  private readonly options: CompleterOptions;

  constructor(options: CompleterOptions) {
    this.options = options;
  }

  get pending(): number {
    return this.queue.length;
  }

  add(item: WriteBack): void {
    if (this.closed) {
      this.options.onError(
        new Error(
          `the completer is closed: the outcome of task ${item.id} is not written back; it comes back when its lease expires`,
        ),
        this.queue.length,
      );
      return;
    }
    this.queue.push(item);
    if (!this.flushing && !this.retryTimer) this.flushing = this.flush();
  }

  /**
   * Resolves once every queued write-back landed, or after `timeoutMs`: then it stops retrying
   * (the caller is about to close the pool, and a retry would only fail); those tasks come back
   * when their lease expires. Resolves to how many it gave up.
   */
  async drain(timeoutMs = 10_000): Promise<number> {
    if (this.queue.length === 0 && !this.flushing) return 0;
    let timer: NodeJS.Timeout | undefined;
    const landed = await Promise.race([
      new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (landed) return 0;
    this.stopRetrying();
    return this.giveUpQueued();
  }

  /**
   * Stops for good: cancels the retry timer, lets the statement in flight settle, and gives up
   * what is still queued (reported through `onError`; those tasks come back when their lease
   * expires). Later `add`s are reported and dropped. Resolves to how many it gave up.
   */
  async close(): Promise<number> {
    const before = this.givenUp;
    this.stopRetrying();
    await this.flushing;
    this.giveUpQueued();
    return this.givenUp - before;
  }

  private stopRetrying(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private giveUpQueued(): number {
    const dropped = this.queue.length;
    this.queue = [];
    if (dropped > 0) {
      this.givenUp += dropped;
      this.options.onError(
        new Error(
          `gave up writing back ${dropped} result(s); their tasks come back when their lease expires`,
        ),
        dropped,
      );
    }
    for (const resolve of this.idleWaiters.splice(0)) resolve();
    return dropped;
  }

  private async flush(): Promise<void> {
    // Let completions of the same tick join the batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.queue.length > 0 && !this.closed) {
      const unwritten = await this.write(this.queue.splice(0, this.options.batchSize ?? 500));
      if (!unwritten) {
        this.retryDelay = FIRST_RETRY_MS;
        continue;
      }
      this.queue.unshift(...unwritten.items);
      if (this.closed) break;
      this.options.onError(unwritten.error, this.queue.length);
      this.flushing = undefined;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.flushing = this.flush();
      }, this.retryDelay);
      this.retryTimer.unref();
      this.retryDelay = Math.min(this.retryDelay * 2, LAST_RETRY_MS);
      return;
    }
    this.flushing = undefined;
    if (this.closed) this.giveUpQueued();
    else for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /**
   * Writes a batch. A statement Postgres refuses for good is split in halves until only the
   * rows it refuses are left, and each of those is failed instead ({@link fallBack}). Returns
   * what is to be written again later: the items of a statement that failed with an error that
   * may go away (and everything not tried after it), or what was left when the completer closed.
   */
  private async write(batch: WriteBack[]): Promise<Unwritten | undefined> {
    const context = this.context();
    const work: WriteBack[][] = [batch];
    const again: WriteBack[] = [];
    let againError: unknown = new Error('the completer was closed');
    let transient = false;
    let reported = false;
    for (let items = work.shift(); items; items = work.shift()) {
      if (transient || this.closed) {
        again.push(...items);
        continue;
      }
      const { landed, refused } = await writeBackSettled(context, items);
      this.deliver(landed);
      for (const { items: part, error } of refused) {
        if (!isPermanentWriteBackError(error)) {
          if (!transient) againError = error;
          transient = true;
          again.push(...part);
        } else if (part.length > 1) {
          if (!reported) this.reportSplit(error, part.length);
          reported = true;
          const half = Math.ceil(part.length / 2);
          work.unshift(part.slice(0, half), part.slice(half));
        } else {
          const failure = await this.fallBack(context, part[0]!, error);
          if (failure) {
            if (!transient) againError = failure.error;
            transient = true;
            again.push(...part);
          }
        }
      }
    }
    return again.length > 0 ? { items: again, error: againError } : undefined;
  }

  /**
   * Fails a row Postgres refused for good with a `WriteBackError` naming the refusal. Returns
   * the error when that failed with an error that may go away (the row is written again
   * later); when it is refused for good too, the row is dropped and reported.
   */
  private async fallBack(
    context: WriteBackContext,
    item: WriteBack,
    refusal: unknown,
  ): Promise<{ error: unknown } | undefined> {
    const { landed, refused } = await writeBackSettled(context, [unstorableOutcome(item, refusal)]);
    this.deliver(landed);
    const failure = refused[0];
    if (!failure) return undefined;
    if (!isPermanentWriteBackError(failure.error)) return { error: failure.error };
    this.options.onError(
      new Error(
        `dropped the write-back of task ${item.id} (attempt ${item.attempt}): Postgres refused it ` +
          `(${String(refusal)}) and the failure written instead (${String(failure.error)}); ` +
          'the task comes back when its lease expires',
        { cause: failure.error },
      ),
      this.queue.length,
    );
    return undefined;
  }

  private reportSplit(error: unknown, rows: number): void {
    this.options.onError(
      new Error(
        `Postgres refused a write-back of ${rows} task(s) for good (${String(error)}); ` +
          'writing them in smaller batches so only the refused rows fail',
        { cause: error },
      ),
      this.queue.length,
    );
  }

  /** Hands what landed to `onLanded`, once: if it throws, nothing is written again. */
  private deliver(landed: Landed[]): void {
    if (landed.length === 0) return;
    try {
      this.options.onLanded(landed);
    } catch (error) {
      try {
        if (this.options.onLandedError) this.options.onLandedError(error, landed);
        else {
          this.options.onError(
            new Error(
              `onLanded threw after ${landed.length} write-back(s) landed (not written again): ${String(error)}`,
              { cause: error },
            ),
            this.queue.length,
          );
        }
      } catch {
        // A reporter that throws leaves nobody to report to; the write-backs did land.
      }
    }
  }

  private context(): WriteBackContext {
    return {
      db: this.options.db,
      sql: this.options.sql,
      workerId: this.options.workerId,
      backoff: this.options.backoff,
      now: this.options.now?.()?.toISOString() ?? null,
    };
  }
}

/**
 * Batches write-backs: completions and failures that arrive together go to Postgres as one
 * fenced statement each. A write-back that fails (database unreachable) is retried; one that
 * matches no row (the task was cancelled or its lease was lost and another attempt owns it)
 * is dropped and reported, never forced.
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import type { RetryBackoff } from '../../src/core/retry-policy.ts';
import type { WorkerStatements } from '../../src/core/sql/worker-statements.ts';
import { writeBack, type Landed, type WriteBack } from '../../src/core/execution/write-back.ts';

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
  onError: (error: unknown, pending: number) => void;
}

export class Completer {
  private queue: WriteBack[] = [];
  private flushing: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay = 100;
  private idleWaiters: Array<() => void> = [];
  /** Set when drain gave up: no more retries. */
  private closed = false;

  private readonly options: CompleterOptions;

  constructor(options: CompleterOptions) {
    this.options = options;
  }

  get pending(): number {
    return this.queue.length;
  }

  add(item: WriteBack): void {
    this.queue.push(item);
    if (!this.flushing && !this.retryTimer) this.flushing = this.flush();
  }

  /**
   * Resolves once every queued write-back landed, or after `timeoutMs`: then it stops retrying
   * (the caller is about to close the pool, and a retry timer would keep the process alive
   * forever); those tasks come back when their lease expires. Resolves to how many it gave up.
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
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const dropped = this.queue.length;
    this.options.onError(
      new Error(`gave up writing back ${dropped} result(s); their tasks come back when their lease expires`),
      dropped,
    );
    return dropped;
  }

  private async flush(): Promise<void> {
    // Let completions of the same tick join the batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.batchSize ?? 500);
      try {
        this.options.onLanded(
          await writeBack(
            {
              db: this.options.db,
              sql: this.options.sql,
              workerId: this.options.workerId,
              backoff: this.options.backoff,
              now: this.options.now?.()?.toISOString() ?? null,
            },
            batch,
          ),
        );
        this.retryDelay = 100;
      } catch (error) {
        this.queue.unshift(...batch);
        this.flushing = undefined;
        if (this.closed) return;
        this.options.onError(error, this.queue.length);
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.flushing = this.flush();
        }, this.retryDelay);
        this.retryDelay = Math.min(this.retryDelay * 2, 5000);
        return;
      }
    }
    this.flushing = undefined;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

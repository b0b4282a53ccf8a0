/**
 * The producer: claims batches of due tasks sized to the free slots, with one statement,
 * and keeps claiming while batches come back full (a worker that stops after one fetch falls
 * behind); otherwise it sleeps until the poll interval passes or `wake()` is called (a
 * notification, or a slot freed after a full batch).
 * @module
 */
import { claimTasks, type ClaimedTask } from '../../src/claim.ts';
import type { Database } from '../../src/database.ts';
import type { WorkerStatements } from '../../src/sql/worker-statements.ts';
import type { Logger } from './logger.ts';
import type { ResolvedWorkerOptions } from './worker-options.ts';

export type { ClaimedTask };

export interface ProducerOptions {
  db: Database;
  sql: WorkerStatements;
  workerId: string;
  options: ResolvedWorkerOptions;
  now: () => string | null;
  freeSlots: () => number;
  dispatch: (task: ClaimedTask) => void;
  /** Hands back tasks claimed after a stop request (put back to PENDING). */
  release: (tasks: ClaimedTask[]) => Promise<void>;
  logger: Logger;
}

export class Producer {
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private lastBatchFull = false;
  private loop: Promise<void> | undefined;
  private errorDelay = 100;

  private readonly o: ProducerOptions;
  private wakePending = false;

  constructor(options: ProducerOptions) {
    this.o = options;
  }

  start(): void {
    this.loop = this.run();
  }

  /** Claim now instead of at the next poll (a task was created, or capacity came back). */
  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.wakePending = true;
  }

  /** A slot became free: claim again at once if the last batch suggests more is waiting. */
  slotFreed(): void {
    if (this.lastBatchFull) this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
  }

  private claim(limit: number): Promise<ClaimedTask[]> {
    const { db, sql, workerId, options, now } = this.o;
    return claimTasks(
      {
        db,
        sql,
        workerId,
        lease: options.lease,
        defaultRetries: options.retry,
        queues: options.queues,
        now: now(),
      },
      limit,
    );
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const free = this.o.freeSlots();
      if (free > 0) {
        try {
          const tasks = await this.claim(free);
          this.errorDelay = 100;
          if (this.stopped) {
            // Stopped while this claim was in flight: nothing new may start.
            if (tasks.length > 0) await this.o.release(tasks);
            break;
          }
          for (const task of tasks) this.o.dispatch(task);
          this.lastBatchFull = tasks.length === free;
          if (this.lastBatchFull && this.o.freeSlots() > 0) continue;
        } catch (error) {
          this.o.logger.log('warn', 'claim_failed', { error: String(error) });
          await this.sleep(this.errorDelay);
          this.errorDelay = Math.min(this.errorDelay * 2, 5000);
          continue;
        }
      }
      await this.sleep(this.o.options.pollInterval);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.wakePending) {
      this.wakePending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.wakeUp = finish;
    });
  }
}

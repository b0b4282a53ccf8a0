/**
 * The producer: claims batches of due tasks sized to the free slots, with one statement,
 * and keeps claiming while batches come back full (a worker that stops after one fetch falls
 * behind); otherwise it sleeps until `wake()` is called (a notification, the maintainer
 * finding due tasks, a slot freed after a full batch) or, while no notifier is connected, until
 * the poll interval passes. When a queue limit or a concurrency key left due tasks waiting (flow
 * control), it does not claim again at once: it sleeps until the rate window has room, or, for a
 * running slot, until one of its own tasks finishes or a short poll (doubling from
 * {@link HELD_POLL_MIN_MS} to the poll interval) passes, since slots freed by other workers send
 * no notification.
 * @module
 */
import { claimTasksWithLimits, type ClaimedTask, type ClaimResult } from '../../src/core/execution/claim.ts';
import type { Database } from '../../src/core/database.ts';
import type { WorkerStatements } from '../../src/core/sql/worker-statements.ts';
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
  /**
   * Whether notifications reach the worker now: then an idle producer sleeps until `wake()`
   * (a notification, the maintainer's "due now", a freed slot) instead of polling.
   */
  listening?: () => boolean;
  /** A claim found nothing: what woke the producer is not due yet (or another worker took it). */
  onEmptyClaim?: () => void;
  /**
   * Every claim's tasks (none when nothing was due), for the worker's observers; `limited`:
   * limits held due tasks back at this claim or at the one before it.
   */
  onClaimed?: (tasks: readonly ClaimedTask[], limited: boolean) => void;
}

const PREFETCH_HORIZON_MS = 100;
// At most this many (or concurrency × 10) held ahead. Claims of ~500-1,000 tasks spread the
// claim's fixed cost (round trip, commit) thinly: 500 → 1,000 took a no-op drain from ~55k to
// ~65k tasks/s here, while the horizon above still keeps slow tasks from being hoarded.
const PREFETCH_MIN_CAP = 1000;
/** The first wait for a running slot after a claim that limits held back (doubling, up to the poll interval). */
export const HELD_POLL_MIN_MS = 50;

export class Producer {
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private wakePending = false;
  private lastBatchFull = false;
  private loop: Promise<void> | undefined;
  private errorDelay = 100;
  /** Set while the last claim left due tasks waiting for a limit: how long to wait next. */
  private heldDelay: number | undefined;
  private readonly buffer: ClaimedTask[] = [];
  /** Moving average of task run time, ms; undefined until a task finished. */
  private averageMs: number | undefined;
  private readonly o: ProducerOptions;

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

  /** A slot became free: start a buffered task, and claim more if more may be waiting. */
  slotFreed(): void {
    this.pump();
    // Held back by a limit: the finished task may have been the one holding the slot.
    if ((this.lastBatchFull || this.heldDelay !== undefined) && this.shouldClaim()) this.wake();
  }

  /** Feeds the prefetch size: short tasks get a deeper local buffer. */
  recordDuration(seconds: number): void {
    const ms = seconds * 1000;
    this.averageMs = this.averageMs === undefined ? ms : this.averageMs * 0.9 + ms * 0.1;
  }

  /** Claimed tasks waiting for a slot (they hold leases, so heartbeats include them). */
  buffered(): readonly ClaimedTask[] {
    return this.buffer;
  }

  /** Stops claiming; returns the buffered tasks, which the caller puts back. */
  async stop(): Promise<ClaimedTask[]> {
    this.stopped = true;
    this.wake();
    await this.loop;
    return this.buffer.splice(0);
  }

  /**
   * How many tasks to hold beyond the free slots: enough to cover ~PREFETCH_HORIZON_MS of work
   * at the measured pace, so a fast queue never waits for a claim round trip, while slow tasks
   * are not hoarded away from other workers (none before a duration is known).
   */
  private prefetchTarget(): number {
    if (this.averageMs === undefined) return 0;
    const { concurrency } = this.o.options;
    const cap = Math.max(PREFETCH_MIN_CAP, concurrency * 10);
    return Math.min(cap, Math.floor((concurrency * PREFETCH_HORIZON_MS) / Math.max(this.averageMs, 0.01)));
  }

  private wanted(): number {
    return this.o.freeSlots() + this.prefetchTarget() - this.buffer.length;
  }

  /** Claim when slots are idle, or when the buffer ran down to half: claims stay big. */
  private shouldClaim(): boolean {
    const target = this.prefetchTarget();
    return this.wanted() > 0 && (this.buffer.length === 0 || this.buffer.length <= target / 2);
  }

  private pump(): void {
    while (this.buffer.length > 0 && this.o.freeSlots() > 0) this.o.dispatch(this.buffer.shift()!);
  }

  private async claim(limit: number): Promise<ClaimResult> {
    const { db, sql, workerId, options, now } = this.o;
    const result = await claimTasksWithLimits(
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
    this.o.onClaimed?.(result.tasks, result.heldBack !== null || this.heldDelay !== undefined);
    return result;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (this.shouldClaim()) {
        const want = this.wanted();
        try {
          const { tasks, heldBack } = await this.claim(want);
          this.errorDelay = 100;
          if (this.stopped) {
            // Stopped while this claim was in flight: nothing new may start.
            if (tasks.length > 0) await this.o.release(tasks);
            break;
          }
          this.buffer.push(...tasks);
          this.pump();
          // A full batch means more may be waiting: keep fetching until one comes back short.
          this.lastBatchFull = tasks.length === want;
          const held = this.lastBatchFull ? null : heldBack;
          if (held) {
            // Due tasks wait for a limit: not the maintainer's business, and no claim until
            // the wait below (or a slot of this worker) says there may be room.
            await this.sleep(this.heldWait(held, tasks.length > 0));
            continue;
          }
          this.heldDelay = undefined;
          if (tasks.length === 0) this.o.onEmptyClaim?.();
          if (this.lastBatchFull && this.shouldClaim()) continue;
        } catch (error) {
          this.o.logger.log('warn', 'claim_failed', { error: String(error) });
          await this.sleep(this.errorDelay);
          this.errorDelay = Math.min(this.errorDelay * 2, 5000);
          continue;
        }
      } else {
        // Woken with every slot taken: tasks may be waiting, so claim when a slot frees.
        this.lastBatchFull = true;
      }
      await this.sleep(this.o.listening?.() ? Infinity : this.o.options.pollInterval);
    }
  }

  /**
   * How long to wait after a claim that limits held back: until the rate window has room, or
   * for a running slot a poll that doubles while nothing could be claimed (from
   * {@link HELD_POLL_MIN_MS} up to the poll interval), whichever is sooner. Wake-ups (a new
   * task, the maintainer's "due") still end the wait early.
   */
  private heldWait(held: NonNullable<ClaimResult['heldBack']>, claimedSome: boolean): number {
    const cap = Math.max(HELD_POLL_MIN_MS, this.o.options.pollInterval);
    this.heldDelay =
      claimedSome || this.heldDelay === undefined ? HELD_POLL_MIN_MS : Math.min(this.heldDelay * 2, cap);
    const rate = held.retryInMs === null ? Infinity : held.retryInMs + 1;
    return Math.min(held.slots ? this.heldDelay : Infinity, rate);
  }

  /** Sleeps `ms` (Infinity: until woken), or not at all when a wake-up came meanwhile. */
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
      const timer = ms === Infinity ? undefined : setTimeout(finish, ms);
      this.wakeUp = finish;
    });
  }
}

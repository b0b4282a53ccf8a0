/**
 * A pool of up to `size` execution threads (the default isolation). Each thread runs one task at
 * a time; short tasks go to a thread a few at a time (`depth`: one message per batch). A task
 * past its timeout first gets its AbortSignal, then, `killGraceMs` later, its thread is
 * terminated (V8 stops even a `while (true) {}`) and replaced: the task fails with a
 * `TimeoutError`, the unstarted tasks behind it go to other threads. A task that runs long
 * (BLOCKED_MS) gets nothing more queued behind it, and its thread hands back those queued.
 *
 * Threads start on demand (loading one costs ~30-300 ms of CPU and ~10-20 MiB; one runs ~40,000
 * no-op tasks/s): one, then one at a time up to `availableParallelism() - 1` while tasks are
 * sub-millisecond, and one per waiting task up to `size` once every thread has been found held
 * by the same task at two looks {@link BLOCKED_MS} apart (slow or waiting tasks; heldSeenFor). A
 * thread idle for `idleThreadMs` (default 60 s) stops again, down to one.
 * @module
 */
import { availableParallelism } from 'node:os';
import { ConfigError } from '../../src/core/errors.ts';
import type { Executor, ExecutorOptions, Outcome } from './executor.ts';
import { encodeBatch, threadTask, type ThreadResult, type ThreadTask } from './thread-protocol.ts';
import { batchDepth, topUpSize } from './thread-batching.ts';
import { BLOCKED_MS, threadsToStart } from './thread-growth.ts';
import { settleResults, takeReleased } from './thread-results.ts';
import {
  abortError,
  elapsed,
  heldSeenFor,
  isHeld,
  threadExitError,
  timeoutError,
  type Run,
  type Slot,
} from './thread-slot.ts';
import { startThread } from './thread-start.ts';
import type { DeclaredSchedules } from './load-tasks.ts';

export type ExecutorPoolOptions = ExecutorOptions;
export type { Outcome };

export class ExecutorPool implements Executor {
  declaredSchedules: DeclaredSchedules | undefined;
  private readonly slots: Slot[] = [];
  /** Runs waiting for room in a thread. */
  private readonly backlog: Run[] = [];
  private readonly killGraceMs: number;
  private readonly options: ExecutorOptions;
  private averageMs: number | undefined;
  private pumpScheduled = false;
  private closing = false;
  private growTimer: NodeJS.Timeout | undefined;
  private retireTimer: NodeJS.Timeout | undefined;
  /** Type-stripped TypeScript modules, by URL, from the first thread (see thread-boot.ts). */
  private readonly stripped: Record<string, string> = {};
  private readonly idleThreadMs: number;
  /** Most threads worth starting for sub-millisecond tasks: one per core left to this thread. */
  private readonly fastThreads: number;

  constructor(options: ExecutorOptions) {
    this.options = options;
    this.killGraceMs = options.killGraceMs ?? 1000;
    this.fastThreads = Math.max(1, Math.min(options.size, availableParallelism() - 1));
    this.idleThreadMs = options.idleThreadMs ?? 60_000;
  }

  /** Threads started so far (loading ones included). */
  get threads(): number {
    return this.slots.length;
  }

  /**
   * Starts the first thread and resolves with the registered task names once it has loaded
   * the tasks module; more threads start when tasks wait (see the module doc). Rejects when
   * the thread cannot load the module.
   */
  async start(): Promise<string[]> {
    const names = await this.spawn();
    this.retireTimer = setInterval(() => this.retireIdle(), Math.min(10_000, this.idleThreadMs / 2));
    this.retireTimer.unref();
    return names;
  }

  /** Stops threads that had nothing to do for `idleThreadMs`, keeping one. */
  private retireIdle(): void {
    if (this.closing || this.backlog.length > 0) return;
    const now = performance.now();
    for (const slot of [...this.slots]) {
      if (this.slots.length <= 1) return;
      if (!slot.ready || slot.runs.length > 0 || slot.killTimer) continue;
      if (now - slot.lastActive < this.idleThreadMs) continue;
      slot.retired = true;
      this.slots.splice(this.slots.indexOf(slot), 1);
      this.clearTimers(slot);
      void slot.thread.terminate();
      this.options.onThreadRetired?.(this.slots.length);
    }
  }

  /** How many tasks a thread is given at once (thread-batching.ts). */
  private get depth(): number {
    return batchDepth(this.averageMs);
  }

  /**
   * Room in ready threads, plus one per thread not started or still loading: a task given to
   * the pool beyond the room waits in the backlog, which is what makes the pool grow.
   */
  get freeSlots(): number {
    if (this.closing) return 0;
    let free = this.options.size - this.slots.length - this.backlog.length;
    const now = performance.now();
    for (const slot of this.slots) {
      if (slot.killTimer || isHeld(slot, now)) continue;
      free += slot.ready ? Math.max(0, this.depth - slot.runs.length) : 1;
    }
    return Math.max(0, free);
  }

  run(task: ThreadTask, timeoutSeconds: number | null): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      this.backlog.push({ task, timeoutSeconds, resolve });
      this.schedulePump();
    });
  }

  abort(token: string, reason: string, graceMs: number = this.killGraceMs): void {
    const waiting = this.backlog.findIndex((run) => run.task.token === token);
    if (waiting >= 0) {
      const [run] = this.backlog.splice(waiting, 1);
      run?.resolve({ ok: false, error: abortError(reason), duration: 0, aborted: true });
      return;
    }
    for (const slot of this.slots) {
      const index = slot.runs.findIndex((run) => run.task.token === token);
      if (index < 0) continue;
      const run = slot.runs[index]!;
      slot.thread.postMessage({ type: 'abort', token, reason });
      if (index === 0) {
        this.end(slot, { error: abortError(reason), aborted: true }, graceMs);
      } else {
        // Not started: the thread will skip it; its result is not awaited.
        slot.runs.splice(index, 1);
        run.resolve({ ok: false, error: abortError(reason), duration: 0, aborted: true });
      }
      return;
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.growTimer);
    clearInterval(this.retireTimer);
    const stopped = { ok: false as const, error: abortError('Worker stopped'), duration: 0, aborted: true };
    for (const run of this.backlog.splice(0)) run.resolve(stopped);
    const exits = this.slots.map((slot) => {
      this.clearTimers(slot);
      for (const run of slot.runs.splice(0)) run.resolve(stopped);
      return slot.thread.terminate();
    });
    await Promise.allSettled(exits);
    this.slots.length = 0;
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // Runs requested in the same tick go out together.
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.closing) return;
    const now = performance.now();
    for (const slot of this.slots) {
      if (this.backlog.length === 0) return;
      // Nothing more goes behind a task that has already run BLOCKED_MS.
      if (!slot.ready || slot.killTimer || isHeld(slot, now)) continue;
      const room = topUpSize(slot.runs.length, this.depth);
      if (room === 0) continue;
      const batch = this.backlog.splice(0, room);
      const wasIdle = slot.runs.length === 0;
      slot.lastActive = now;
      slot.runs.push(...batch);
      const trace = this.options.runTrace;
      const tasks = batch.map(({ task }) => threadTask(task, trace?.traceparent(task)));
      slot.thread.postMessage({ type: 'run', tasks: encodeBatch(tasks) });
      if (wasIdle) this.startHead(slot);
      else this.armRelease(slot);
    }
    this.grow();
  }

  /** Starts threads while tasks wait for room (policy: thread-growth.ts). */
  private grow(): void {
    // Called after every pump: most of the time nothing waits, and there is nothing to decide.
    if (this.closing || this.backlog.length === 0) return;
    const now = performance.now();
    const ready = this.slots.filter((slot) => slot.ready);
    const decision = threadsToStart({
      threads: this.slots.length,
      loading: this.slots.length - ready.length,
      size: this.options.size,
      waiting: this.backlog.length,
      heldFor: ready.map((slot) => heldSeenFor(slot, now)),
      averageMs: this.averageMs,
      fastThreads: this.fastThreads,
    });
    if (decision === 'later') {
      this.growTimer ??= setTimeout(() => {
        this.growTimer = undefined;
        this.grow();
      }, BLOCKED_MS).unref();
      return;
    }
    for (let i = 0; i < decision; i++) this.spawnExtra();
  }

  /** A thread beyond the first; if it cannot load, it leaves the pool (a later grow retries). */
  private spawnExtra(): void {
    const loading = this.spawn();
    const slot = this.slots.at(-1)!; // spawn() adds the slot synchronously
    loading.catch(() => {
      void slot.thread.terminate();
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
      this.schedulePump();
    });
  }

  /** Starts the timeout clock of the thread's current task. */
  private startHead(slot: Slot): void {
    clearTimeout(slot.timeoutTimer);
    slot.timeoutTimer = undefined;
    clearTimeout(slot.releaseTimer);
    slot.releaseTimer = undefined;
    const head = slot.runs[0];
    if (!head) return;
    head.started = performance.now();
    this.armRelease(slot);
    if (head.timeoutSeconds === null) return;
    const seconds = head.timeoutSeconds;
    slot.timeoutTimer = setTimeout(() => {
      if (slot.runs[0] !== head) return;
      this.end(slot, { error: timeoutError(seconds), timedOut: true });
    }, seconds * 1000);
  }

  /**
   * With tasks queued behind the current one, asks the thread to hand them back once the
   * current one has run BLOCKED_MS, so a slow task in a batch of short ones does not hold the
   * rest (they go to other threads, started if needed).
   */
  private armRelease(slot: Slot): void {
    const head = slot.runs[0];
    if (slot.releaseTimer || !head || head.started === undefined || slot.runs.length < 2) return;
    const wait = Math.max(0, BLOCKED_MS - (performance.now() - head.started));
    slot.releaseTimer = setTimeout(() => {
      slot.releaseTimer = undefined;
      if (slot.runs[0] !== head || slot.runs.length < 2 || slot.releasing || slot.killTimer) return;
      slot.releasing = true;
      slot.thread.postMessage({ type: 'release', tokens: slot.runs.slice(1).map((run) => run.task.token) });
    }, wait);
    slot.releaseTimer.unref();
  }

  /** The thread handed back tasks it had not started: they wait for another thread. */
  private onReleased(slot: Slot, tokens: readonly string[]): void {
    const moved = takeReleased(slot, tokens);
    if (moved.length === 0) return;
    this.backlog.unshift(...moved);
    this.schedulePump();
  }

  /** Ends the thread's current task: abort signal now, terminate the thread after the grace. */
  private end(slot: Slot, ending: NonNullable<Run['ending']>, graceMs: number = this.killGraceMs): void {
    const head = slot.runs[0];
    if (!head || head.ending) return;
    head.ending = ending;
    clearTimeout(slot.timeoutTimer);
    slot.thread.postMessage({ type: 'abort', token: head.task.token, reason: ending.error.message });
    slot.killTimer = setTimeout(() => {
      slot.killTimer = undefined;
      if (slot.runs[0] !== head) return;
      this.kill(slot, { ok: false, ...ending, duration: elapsed(head) });
    }, graceMs);
  }

  /** Terminates a thread: its current task ends with `outcome`, the unstarted ones move on. */
  private kill(slot: Slot, outcome: Outcome): void {
    const [head, ...unstarted] = slot.runs.splice(0);
    this.clearTimers(slot);
    head?.resolve(outcome);
    this.backlog.unshift(...unstarted);
    void this.replace(slot);
    this.schedulePump();
  }

  private onResults(slot: Slot, results: ThreadResult[]): void {
    settleResults(slot, results, (seconds) => {
      this.averageMs = this.averageMs === undefined ? seconds * 1000 : this.averageMs * 0.9 + seconds * 100;
    });
    this.startHead(slot);
    this.pump();
    this.options.onSlotFree?.();
  }

  private clearTimers(slot: Slot): void {
    clearTimeout(slot.timeoutTimer);
    clearTimeout(slot.killTimer);
    clearTimeout(slot.releaseTimer);
    slot.timeoutTimer = undefined;
    slot.killTimer = undefined;
    slot.releaseTimer = undefined;
  }

  /** Starts a thread, in a new slot or in place of `existing`'s; resolves once it loaded the tasks. */
  private spawn(existing?: Slot): Promise<string[]> {
    return new Promise<string[]>((resolve, reject) => {
      let loaded = false;
      const thread = startThread(this.options.tasksUrl, this.stripped, {
        ready: (names, stripped, schedules) => {
          Object.assign(this.stripped, stripped);
          this.declaredSchedules ??= schedules;
          loaded = true;
          slot.ready = true;
          resolve(names);
          this.options.onThreadReady?.(this.slots.filter((ready) => ready.ready).length);
          this.pump();
          this.options.onSlotFree?.();
        },
        loadError: (error) => reject(new ConfigError(`Could not load the tasks module: ${error.message}`)),
        progress: (token, json) => {
          const head = slot.runs[0];
          if (head?.task.token === token && !head.ending) this.options.onProgress?.(token, json);
        },
        results: (results) => this.onResults(slot, results),
        released: (tokens) => this.onReleased(slot, tokens),
        error: (error) => {
          if (!loaded) reject(new ConfigError(`Execution thread failed to start: ${error.message}`));
        },
        exit: (code) => {
          if (slot.thread !== thread || slot.retired || this.closing || !loaded) return;
          this.onThreadExit(slot, code);
        },
      });
      const slot: Slot = existing ?? { thread, ready: false, runs: [], lastActive: performance.now() };
      slot.thread = thread;
      slot.ready = false;
      slot.releasing = false;
      if (!existing) this.slots.push(slot);
    });
  }

  /**
   * The thread died on its own (process.exit in a handler, out of memory): its current task
   * fails as retryable, the rest move to other threads, and a new thread starts.
   */
  private onThreadExit(slot: Slot, code: number): void {
    const head = slot.runs[0];
    if (!head) {
      void this.replace(slot);
      return;
    }
    this.kill(slot, {
      ok: false,
      ...(head.ending ?? { error: threadExitError(code) }),
      duration: elapsed(head),
    });
  }

  private async replace(slot: Slot): Promise<void> {
    if (this.closing) return;
    const old = slot.thread;
    slot.ready = false;
    const exited = old.terminate();
    try {
      await this.spawn(slot);
    } catch {
      // The module loaded before, so this is transient (e.g. memory); try again shortly.
      if (!this.closing) setTimeout(() => void this.replace(slot), 1000).unref();
    }
    await exited.catch(() => undefined);
  }
}

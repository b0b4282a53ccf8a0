/**
 * A fixed pool of execution threads, one task per thread at a time. A task past its timeout
 * first gets its AbortSignal; if it has not finished `killGraceMs` later, its thread is
 * terminated (V8 stops even a `while (true) {}`) and replaced, and the task fails with a
 * `TimeoutError`. Other threads keep running.
 * @module
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ConfigError } from '../../src/errors.ts';
import type { FromThread, SerializedError, ThreadData, ThreadTask, ToThread } from './thread-protocol.ts';

/** How a run ended. `json` is the result as JSON text. */
export type Outcome =
  | { ok: true; json: string; duration: number }
  | { ok: false; error: SerializedError; duration: number; timedOut?: boolean; aborted?: boolean };

export interface ExecutorPoolOptions {
  size: number;
  /** file: URL of the tasks module. */
  tasksUrl: string;
  /** Wait between the abort signal and terminating the thread (default: 1000). */
  killGraceMs?: number;
  onProgress?: (id: string, json: string) => void;
  /** Called when a slot becomes free (a task ended or a thread became ready). */
  onSlotFree?: () => void;
}

interface Run {
  task: ThreadTask;
  started: number;
  resolve: (outcome: Outcome) => void;
  timeoutTimer?: NodeJS.Timeout;
  killTimer?: NodeJS.Timeout;
  /** Set once the deadline passed or the run was aborted: how it will end. */
  ending?: { error: SerializedError; timedOut?: boolean; aborted?: boolean };
}

interface Slot {
  thread: Worker;
  ready: boolean;
  run?: Run;
}

const threadFile = new URL(`./executor-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

export class ExecutorPool {
  private readonly slots: Slot[] = [];
  private readonly killGraceMs: number;
  private closing = false;

  private readonly options: ExecutorPoolOptions;

  constructor(options: ExecutorPoolOptions) {
    this.options = options;
    this.killGraceMs = options.killGraceMs ?? 1000;
  }

  /** Starts the threads; resolves with the registered task names once all loaded the module. */
  async start(): Promise<string[]> {
    const names = await Promise.all(Array.from({ length: this.options.size }, () => this.spawn()));
    return names[0] ?? [];
  }

  /** Threads ready for a task right now. */
  get freeSlots(): number {
    let free = 0;
    for (const slot of this.slots) if (slot.ready && !slot.run) free++;
    return free;
  }

  /** Tasks running now. */
  get running(): number {
    let count = 0;
    for (const slot of this.slots) if (slot.run) count++;
    return count;
  }

  /** Runs a task on a free thread. `timeoutSeconds` null means no timeout. */
  run(task: ThreadTask, timeoutSeconds: number | null): Promise<Outcome> {
    const slot = this.slots.find((s) => s.ready && !s.run);
    if (!slot) throw new Error('ExecutorPool.run called without a free slot');
    return new Promise<Outcome>((resolve) => {
      const run: Run = { task, started: performance.now(), resolve };
      slot.run = run;
      if (timeoutSeconds !== null) {
        run.timeoutTimer = setTimeout(() => {
          this.end(slot, run, {
            error: {
              message: `Task timed out after ${timeoutSeconds} s`,
              type: 'TimeoutError',
              stack: null,
              nonRetryable: false,
            },
            timedOut: true,
          });
        }, timeoutSeconds * 1000);
      }
      this.post(slot, { type: 'run', task });
    });
  }

  /** Aborts a running task (cancelled, lease lost, shutdown): signal, then kill after the grace. */
  abort(id: string, reason: string, graceMs: number = this.killGraceMs): void {
    const slot = this.slots.find((s) => s.run?.task.id === id);
    if (!slot?.run) return;
    this.end(
      slot,
      slot.run,
      { error: { message: reason, type: 'AbortError', stack: null, nonRetryable: false }, aborted: true },
      graceMs,
    );
  }

  /** Ids of the tasks running now. */
  runningIds(): string[] {
    return this.slots.flatMap((s) => (s.run ? [s.run.task.id] : []));
  }

  /** Terminates every thread at once; running tasks resolve as aborted. */
  async close(): Promise<void> {
    this.closing = true;
    const threads = this.slots.map((slot) => {
      if (slot.run)
        this.settle(slot, {
          ok: false,
          error: { message: 'Worker stopped', type: 'AbortError', stack: null, nonRetryable: false },
          duration: this.elapsed(slot.run),
          aborted: true,
        });
      return slot.thread.terminate();
    });
    await Promise.allSettled(threads);
    this.slots.length = 0;
  }

  private elapsed(run: Run): number {
    return (performance.now() - run.started) / 1000;
  }

  private post(slot: Slot, message: ToThread): void {
    slot.thread.postMessage(message);
  }

  /** Starts ending a run: abort signal now, terminate after the grace unless it finishes. */
  private end(
    slot: Slot,
    run: Run,
    ending: NonNullable<Run['ending']>,
    graceMs: number = this.killGraceMs,
  ): void {
    if (run.ending || slot.run !== run) return;
    run.ending = ending;
    clearTimeout(run.timeoutTimer);
    this.post(slot, { type: 'abort', id: run.task.id, reason: ending.error.message });
    run.killTimer = setTimeout(() => {
      if (slot.run !== run) return;
      this.settle(slot, { ok: false, ...ending, duration: this.elapsed(run) });
      void this.replace(slot);
    }, graceMs);
  }

  private settle(slot: Slot, outcome: Outcome): void {
    const run = slot.run;
    if (!run) return;
    clearTimeout(run.timeoutTimer);
    clearTimeout(run.killTimer);
    slot.run = undefined;
    run.resolve(outcome);
  }

  private onMessage(slot: Slot, message: FromThread): void {
    if (message.type === 'progress') {
      if (slot.run?.task.id === message.id && !slot.run.ending)
        this.options.onProgress?.(message.id, message.json);
      return;
    }
    if (message.type !== 'done' || slot.run?.task.id !== message.id) return;
    const run = slot.run;
    // A result after the deadline does not count: the task timed out (or was aborted).
    const outcome: Outcome = run.ending
      ? { ok: false, ...run.ending, duration: message.duration }
      : message.ok
        ? { ok: true, json: message.json, duration: message.duration }
        : { ok: false, error: message.error, duration: message.duration };
    this.settle(slot, outcome);
    this.options.onSlotFree?.();
  }

  private spawn(existing?: Slot): Promise<string[]> {
    return new Promise<string[]>((resolve, reject) => {
      const thread = new Worker(threadFile, {
        workerData: { tasksUrl: this.options.tasksUrl } satisfies ThreadData,
      });
      const slot: Slot = existing ?? { thread, ready: false };
      slot.thread = thread;
      slot.ready = false;
      if (!existing) this.slots.push(slot);
      let loaded = false;
      thread.on('message', (message: FromThread) => {
        if (message.type === 'ready') {
          loaded = true;
          slot.ready = true;
          resolve(message.names);
          this.options.onSlotFree?.();
        } else if (message.type === 'load-error') {
          reject(new ConfigError(`Could not load the tasks module: ${message.error.message}`));
        } else {
          this.onMessage(slot, message);
        }
      });
      thread.on('error', (error) => {
        if (!loaded) reject(new ConfigError(`Execution thread failed to start: ${error.message}`));
      });
      thread.on('exit', (code) => {
        if (slot.thread !== thread || this.closing) return;
        slot.ready = false;
        if (!loaded) return;
        // The thread died on its own (process.exit in a handler, out of memory): fail the task
        // it was running as retryable and start a new thread.
        if (slot.run) {
          const run = slot.run;
          this.settle(slot, {
            ok: false,
            ...(run.ending ?? {
              error: {
                message: `Execution thread exited unexpectedly (code ${code})`,
                type: 'ThreadExitError',
                stack: null,
                nonRetryable: false,
              },
            }),
            duration: this.elapsed(run),
          });
        }
        void this.replace(slot);
      });
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

/**
 * One execution thread of the pool as the main thread sees it (a slot), and the runs sent to
 * it. State only; executor-pool.ts decides what happens to them.
 * @module
 */
import type { Worker } from 'node:worker_threads';
import type { Outcome } from './executor.ts';
import { BLOCKED_MS } from './thread-growth.ts';
import type { SerializedError, ThreadTask } from './thread-protocol.ts';

/** A task given to the pool, from the call to its outcome. */
export interface Run {
  task: ThreadTask;
  timeoutSeconds: number | null;
  resolve: (outcome: Outcome) => void;
  /** When it became the thread's current task (approximately: when the previous one reported). */
  started?: number;
  /** When a look of the growth policy first found it held (see heldSeenFor). */
  heldSeenAt?: number;
  /** Set once the deadline passed or the run was aborted: how it ends. */
  ending?: { error: SerializedError; timedOut?: boolean; aborted?: boolean };
}

/** One execution thread and what it was sent. */
export interface Slot {
  thread: Worker;
  ready: boolean;
  /** Sent to the thread, in its order: the head is running, the rest wait. */
  runs: Run[];
  timeoutTimer?: NodeJS.Timeout;
  killTimer?: NodeJS.Timeout;
  /** When it last got or finished a task (performance.now()). */
  lastActive: number;
  /** Terminated for being idle: its exit is expected. */
  retired?: boolean;
  /** Fires when the current task has run BLOCKED_MS with others queued behind it. */
  releaseTimer?: NodeJS.Timeout;
  /** A `release` was sent and its answer has not come back yet. */
  releasing?: boolean;
}

/** The outcome's error for a run that was aborted (cancelled, lease lost, shutdown). */
export function abortError(message: string): SerializedError {
  return { message, type: 'AbortError', stack: null, nonRetryable: false };
}

/** The outcome's error for a run past its timeout. */
export function timeoutError(seconds: number): SerializedError {
  return {
    message: `Task timed out after ${seconds} s`,
    type: 'TimeoutError',
    stack: null,
    nonRetryable: false,
  };
}

/** The outcome's error for a run whose thread exited on its own (process.exit, out of memory). */
export function threadExitError(code: number): SerializedError {
  return {
    message: `Execution thread exited unexpectedly (code ${code})`,
    type: 'ThreadExitError',
    stack: null,
    nonRetryable: false,
  };
}

/** How long (ms) the thread's current task has run, or undefined when it has none. */
export function heldFor(slot: Slot, now: number): number | undefined {
  const started = slot.runs[0]?.started;
  return started === undefined ? undefined : now - started;
}

/** The thread's current task has run BLOCKED_MS or more. */
export function isHeld(slot: Slot, now: number): boolean {
  return (heldFor(slot, now) ?? 0) >= BLOCKED_MS;
}

/**
 * For the growth policy: ms since a look first found the thread's current task held (run
 * BLOCKED_MS or more), or undefined when none has; that first look marks it. A stall of this
 * process (GC, a busy machine) makes every task look held once, so growing takes a second look
 * BLOCKED_MS later at a task still held; a new task starts unmarked.
 */
export function heldSeenFor(slot: Slot, now: number): number | undefined {
  const head = slot.runs[0];
  if (!head || !isHeld(slot, now)) return undefined;
  head.heldSeenAt ??= now;
  return now - head.heldSeenAt;
}

/** Seconds the run has been its thread's current task. */
export function elapsed(run: Run): number {
  return run.started === undefined ? 0 : (performance.now() - run.started) / 1000;
}

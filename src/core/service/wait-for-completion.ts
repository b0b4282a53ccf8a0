/**
 * `waitForCompletion`: reads a task until it is final or the timeout passes. With a notifier it
 * subscribes to the task's own channel before the first read and sleeps until an event (or a
 * slow safety poll) wakes it; without one, or while the notifier is down, it polls with back-off.
 * @module
 */
import type { Row } from '../database.ts';
import type { Notifier, Unsubscribe } from '../notifier.ts';
import { parseTaskEvent, taskChannel } from '../events/task-events.ts';
import { TaskNotFoundError, TaskValidationError } from '../errors.ts';
import { isFinalStatus, taskFromRow, type Task } from '../task.ts';
import { assertTaskId } from '../task-id.ts';

export interface WaitOptions {
  /** Seconds to wait before resolving with `null` (default: 30). */
  timeout?: number;
}

/** What a wait needs from the client. */
export interface TaskWaitContext {
  schema: string;
  notifier: Notifier | undefined;
  /** The task's row, or `undefined` when no task has this id. */
  getRow(id: string): Promise<Row | undefined>;
}

const DEFAULT_WAIT_SECONDS = 30;
const POLL_FIRST_MS = 25;
const POLL_MAX_MS = 1000;
// With a live subscription the task's own event wakes the waiter; this slow poll only covers
// a message lost in transit (notifications are hints).
const SUBSCRIBED_POLL_MS = 5000;

/** Resolves after `ms`, or earlier when `wake()` is called (even just before the wait). */
function wakeableSleep() {
  let wake: (() => void) | undefined;
  let pending = false;
  return {
    wake() {
      if (wake) wake();
      else pending = true;
    },
    wait(ms: number): Promise<void> {
      if (pending) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
    },
  };
}

/** The task once it is final, or `null` after `options.timeout` seconds. */
export async function waitForCompletion(
  context: TaskWaitContext,
  id: string,
  options: WaitOptions = {},
): Promise<Task | null> {
  const { schema, notifier, getRow } = context;
  const seconds = options.timeout ?? DEFAULT_WAIT_SECONDS;
  if (typeof seconds !== 'number' || !(seconds >= 0) || !Number.isFinite(seconds)) {
    throw new TaskValidationError(
      'INVALID_TIMEOUT',
      'timeout',
      `timeout must be a number of seconds >= 0, got ${String(seconds)}.`,
    );
  }
  assertTaskId(id);
  const deadline = Date.now() + seconds * 1000;
  const sleeper = wakeableSleep();
  // Subscribe before the first read: an event that lands in between wakes the next read.
  let live = false;
  let unsubscribe: Unsubscribe | undefined;
  if (notifier) {
    live = true;
    try {
      unsubscribe = await notifier.subscribe(
        taskChannel(schema, id),
        (message) => {
          if (parseTaskEvent(message)?.taskId === id) sleeper.wake();
        },
        {
          onStatus(status) {
            live = status === 'connected';
            // Back after a gap: messages may have been missed, so read again.
            if (live) sleeper.wake();
          },
        },
      );
    } catch {
      live = false;
    }
  }
  try {
    let delay = POLL_FIRST_MS;
    for (;;) {
      const row = await getRow(id);
      if (!row) throw new TaskNotFoundError(id);
      const task = taskFromRow(row);
      if (isFinalStatus(task.status)) return task;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      if (live) {
        await sleeper.wait(Math.min(SUBSCRIBED_POLL_MS, left));
      } else {
        await sleeper.wait(Math.min(delay, left));
        delay = Math.min(delay * 1.5, POLL_MAX_MS);
      }
    }
  } finally {
    await unsubscribe?.().catch(() => undefined);
  }
}

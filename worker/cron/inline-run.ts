/**
 * One task run by the cron executor, stopped by its own timeout, by the end of the run's
 * budget, or by its cancellation, whichever comes first. Only the `AbortSignal` stops it: an
 * outcome that comes later is ignored. Edge-safe.
 *
 * Cancellation, within this executor's limits: it subscribes to nothing during a run and
 * cannot kill a handler, so a run reads its row every `cancelCheck.intervalMs` (a run shorter
 * than that costs no read); once the row is `CANCELLED` with the run's lease token, the signal
 * is aborted and the run ends as `cancelled` (nothing is written: the row is final already).
 * @module
 */
import type { ClaimedTask } from '../../src/core/execution/claim.ts';
import type { TaskRegistry } from '../../src/core/define-tasks.ts';
import { runHandler } from '../../src/core/execution/run-handler.ts';
import type { WriteBack } from '../../src/core/execution/write-back.ts';

/**
 * How a run ended: an outcome to write, cut off by the budget, cancelled (nothing to write), or
 * not started (no time left).
 */
export type InlineRun =
  | { kind: 'outcome'; outcome: WriteBack }
  | { kind: 'cutOff'; durationMs: number }
  | { kind: 'cancelled'; durationMs: number }
  | { kind: 'unstarted' };

/** How a run looks for its cancellation. */
export interface CancelCheck {
  /** Milliseconds between reads of the row, from the run's start. */
  intervalMs: number;
  /** Whether the run's row is `CANCELLED` with its lease token; a rejection counts as no. */
  cancelled(task: ClaimedTask): Promise<boolean>;
}

class Timeout extends Error {
  override name = 'TimeoutError';
}

/** Runs `task` until it settles, its timeout passes, `deadline` (epoch ms) comes or it is cancelled. */
export async function runInline(
  task: ClaimedTask,
  tasks: TaskRegistry,
  deadline: number,
  cancelCheck?: CancelCheck,
): Promise<InlineRun> {
  const started = Date.now();
  const budgetLeft = deadline - started;
  if (budgetLeft <= 0) return { kind: 'unstarted' };
  const common = { id: task.id, attempt: task.attempt, token: task.token, name: task.name };
  const controller = new AbortController();
  const taskMs = task.timeout === null ? Infinity : task.timeout * 1000;
  const cutByBudget = budgetLeft < taskMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), Math.min(taskMs, budgetLeft));
  });
  // Progress is not stored inline: there is no spare round trip in a cron budget.
  const run = runHandler(tasks, task, { signal: controller.signal });
  const watch = watchCancel(task, cancelCheck);
  const outcome = await Promise.race([run, expired, watch.cancelled]);
  if (timer !== undefined) clearTimeout(timer);
  watch.stop();
  if (outcome === 'cancelled') {
    controller.abort(new DOMException('The task was cancelled', 'AbortError'));
    return { kind: 'cancelled', durationMs: Date.now() - started };
  }
  if (outcome === 'expired') {
    const message = cutByBudget
      ? `Cut off by the end of the cron run's budget after ${(Date.now() - started) / 1000} s`
      : `Task timed out after ${task.timeout} s`;
    controller.abort(new Timeout(message));
    if (cutByBudget) return { kind: 'cutOff', durationMs: Date.now() - started };
    const error = { message, type: 'TimeoutError', stack: null, nonRetryable: false };
    return {
      kind: 'outcome',
      outcome: { kind: 'fail', ...common, error, duration: taskMs / 1000, retryable: true },
    };
  }
  return {
    kind: 'outcome',
    outcome: outcome.ok
      ? { kind: 'complete', ...common, json: outcome.json, duration: outcome.duration }
      : {
          kind: 'fail',
          ...common,
          error: outcome.error,
          duration: outcome.duration,
          retryable: !outcome.error.nonRetryable,
        },
  };
}

/** Reads the run's row every `check.intervalMs` until `stop`; `cancelled` resolves when it was cancelled. */
function watchCancel(
  task: ClaimedTask,
  check: CancelCheck | undefined,
): { cancelled: Promise<'cancelled'>; stop: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const cancelled = new Promise<'cancelled'>((resolve) => {
    if (!check || !(check.intervalMs > 0)) return;
    const look = async () => {
      const found = await check.cancelled(task).catch(() => false);
      if (stopped) return;
      if (found) resolve('cancelled');
      else timer = setTimeout(() => void look(), check.intervalMs);
    };
    timer = setTimeout(() => void look(), check.intervalMs);
  });
  return {
    cancelled,
    stop: () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}

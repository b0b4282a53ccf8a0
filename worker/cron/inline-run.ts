/**
 * One task run by the cron executor, stopped by its own timeout or by the end of the run's
 * budget, whichever comes first. Only the `AbortSignal` stops it: an outcome that comes later
 * is ignored. Edge-safe.
 * @module
 */
import type { ClaimedTask } from '../../src/core/execution/claim.ts';
import type { TaskRegistry } from '../../src/core/define-tasks.ts';
import { runHandler } from '../../src/core/execution/run-handler.ts';
import type { WriteBack } from '../../src/core/execution/write-back.ts';

/** How a run ended: an outcome to write, cut off by the budget, or not started (no time left). */
export type InlineRun =
  { kind: 'outcome'; outcome: WriteBack } | { kind: 'cutOff'; durationMs: number } | { kind: 'unstarted' };

class Timeout extends Error {
  override name = 'TimeoutError';
}

/** Runs `task` until it settles, its timeout passes or `deadline` (epoch ms) comes. */
export async function runInline(
  task: ClaimedTask,
  tasks: TaskRegistry,
  deadline: number,
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
  const outcome = await Promise.race([run, expired]);
  if (timer !== undefined) clearTimeout(timer);
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

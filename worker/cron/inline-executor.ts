/**
 * Runs due tasks inside the current isolate, within a time budget: the executor of the
 * Cloudflare cron Worker (and of any runtime that cannot start threads). Edge-safe.
 *
 * Difference from the container worker: nothing can kill a running handler here, so a
 * timeout only aborts its `AbortSignal`; the outcome is recorded as a timeout right away and
 * whatever the handler does later is ignored. A handler that never yields keeps the isolate
 * busy until the platform stops it; its lease then expires and the sweeper recovers the task.
 * @module
 */
import { claimTasks, type ClaimedTask } from '../../src/core/execution/claim.ts';
import type { Database } from '../../src/core/database.ts';
import type { TaskRegistry } from '../../src/core/define-tasks.ts';
import { DEFAULT_RETRY_BACKOFF, type RetryBackoff } from '../../src/core/retry-policy.ts';
import { DEFAULT_SCHEMA } from '../../src/core/schema-name.ts';
import { workerStatements } from '../../src/core/sql/worker-statements.ts';
import { runHandler } from '../../src/core/execution/run-handler.ts';
import { writeBack, type Landed, type WriteBack } from '../../src/core/execution/write-back.ts';

export interface InlineExecutorOptions {
  db: Database;
  tasks: TaskRegistry;
  /** Stops claiming once less than `reserveMs` of this is left (milliseconds). */
  budgetMs: number;
  /** Time kept for the last write-back (default: 2000). */
  reserveMs?: number;
  /** (default: task_worker) */
  schema?: string;
  /** Tasks run at once (default: 4). */
  concurrency?: number;
  /** max_retries for tasks created without one (default: 0). */
  retry?: number;
  /** Lease seconds (default: 60). */
  lease?: number;
  queues?: string[];
  /** (default: inline:<random>) */
  workerId?: string;
  backoff?: RetryBackoff;
  /** Clock for tests (default: the database clock). */
  now?: () => Date | undefined;
  /** Every outcome that was written (or refused by fencing). */
  onLanded?: (landed: Landed[]) => void;
}

export interface InlineRunResult {
  claimed: number;
  completed: number;
  failed: number;
  retried: number;
  /** Outcomes refused by fencing (cancelled meanwhile, or the lease was lost). */
  lost: number;
  /** Tasks handed back unstarted or cut off by the budget (not counted as a retry). */
  putBack: number;
}

class Timeout extends Error {
  override name = 'TimeoutError';
}

async function execute(
  task: ClaimedTask,
  tasks: TaskRegistry,
  deadline: number,
): Promise<{ outcome: WriteBack } | { cutOff: true }> {
  const common = { id: task.id, attempt: task.attempt, token: task.token, name: task.name };
  const controller = new AbortController();
  const taskMs = task.timeout === null ? Infinity : task.timeout * 1000;
  const budgetLeft = deadline - Date.now();
  const cutByBudget = budgetLeft < taskMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), Math.max(0, Math.min(taskMs, budgetLeft)));
  });
  // Progress is not stored inline: there is no spare round trip in a cron budget.
  const run = runHandler(tasks, task, { signal: controller.signal });
  const outcome = await Promise.race([run, expired]);
  if (timer !== undefined) clearTimeout(timer);
  if (outcome === 'expired') {
    controller.abort(new Timeout(`Task timed out after ${task.timeout} s`));
    if (cutByBudget) return { cutOff: true };
    const error = {
      message: `Task timed out after ${task.timeout} s`,
      type: 'TimeoutError',
      stack: null,
      nonRetryable: false,
    };
    return { outcome: { kind: 'fail', ...common, error, duration: taskMs / 1000, retryable: true } };
  }
  return {
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

/** Claims and runs due tasks until none are left or the budget is spent. */
export async function runDueTasks(options: InlineExecutorOptions): Promise<InlineRunResult> {
  const started = Date.now();
  const deadline = started + options.budgetMs - (options.reserveMs ?? 2000);
  const sql = workerStatements(options.schema ?? DEFAULT_SCHEMA);
  const workerId = options.workerId ?? `inline:${crypto.randomUUID().slice(0, 8)}`;
  const concurrency = options.concurrency ?? 4;
  const backoff = options.backoff ?? DEFAULT_RETRY_BACKOFF;
  const now = () => options.now?.()?.toISOString() ?? null;
  const result: InlineRunResult = { claimed: 0, completed: 0, failed: 0, retried: 0, lost: 0, putBack: 0 };
  const claimContext = {
    db: options.db,
    sql,
    workerId,
    lease: options.lease ?? 60,
    defaultRetries: options.retry ?? 0,
    queues: options.queues,
  };

  while (Date.now() < deadline) {
    const batch = await claimTasks({ ...claimContext, now: now() }, concurrency);
    if (batch.length === 0) break;
    result.claimed += batch.length;
    const runs = await Promise.all(batch.map((task) => execute(task, options.tasks, deadline)));
    const outcomes = runs.flatMap((run) => ('outcome' in run ? [run.outcome] : []));
    const cutOff = batch.filter((_, i) => 'cutOff' in runs[i]!);
    const landed = await writeBack({ db: options.db, sql, workerId, backoff, now: now() }, outcomes);
    if (cutOff.length > 0) {
      const { rowCount } = await options.db.query(sql.taskPutBack, [
        cutOff.map((t) => t.id),
        cutOff.map((t) => t.attempt),
        workerId,
        now(),
        cutOff.map((t) => t.token),
      ]);
      result.putBack += rowCount;
    }
    for (const entry of landed) {
      if (entry.status === null) result.lost++;
      else if (entry.status === 'COMPLETED') result.completed++;
      else if (entry.status === 'PENDING') result.retried++;
      else result.failed++;
    }
    options.onLanded?.(landed);
    if (batch.length < concurrency) break;
  }
  return result;
}

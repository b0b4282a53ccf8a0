/**
 * Runs due tasks inside the current isolate, within a time budget: the executor of the
 * Cloudflare cron Worker (and of any runtime that cannot start threads). Edge-safe.
 *
 * Difference from the container worker: nothing can kill a running handler here, so a
 * timeout only aborts its `AbortSignal`; the outcome is recorded as a timeout right away and
 * whatever the handler does later is ignored. A handler that never yields keeps the isolate
 * busy until the platform stops it; its lease then expires and the sweeper recovers the task.
 *
 * Up to `concurrency` tasks run at once and a slot is refilled as soon as its task finishes.
 * Each claim first takes tasks whose timeout fits the budget left; with `longTasks: 'try'` a
 * slot that finds none takes another task. A task the end of the budget cuts off is put back
 * without spending a retry; one cut off `maxCutOffs` times fails with `BudgetExceededError`.
 * A run that lasts reads its row every `cancelCheckMs` and stops once it was cancelled
 * (inline-run.ts).
 * @module
 */
import { claimTasks, type ClaimContext, type ClaimedTask } from '../../src/core/execution/claim.ts';
import type { Database } from '../../src/core/database.ts';
import type { TaskRegistry } from '../../src/core/define-tasks.ts';
import { DEFAULT_RETRY_BACKOFF, type RetryBackoff } from '../../src/core/retry-policy.ts';
import { DEFAULT_SCHEMA } from '../../src/core/schema-name.ts';
import {
  ERROR_HISTORY_LENGTH,
  workerStatements,
  type WorkerStatements,
} from '../../src/core/sql/worker-statements.ts';
import { writeBack, type Landed, type WriteBack } from '../../src/core/execution/write-back.ts';
import { writeCutOffs, type CutOff, type CutOffContext } from './inline-cut-off.ts';
import { BackgroundWriter, runPool } from './inline-pool.ts';
import { runInline, type CancelCheck, type InlineRun } from './inline-run.ts';

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
  /**
   * Tasks whose timeout is longer than the budget left (or that have none). `'try'` (default):
   * claimed when no task that fits is due, so tasks with the default 300 s timeout, which
   * usually finish fast, still run. `'skip'`: never claimed (leave them to container workers).
   */
  longTasks?: 'try' | 'skip';
  /**
   * A task cut off by the end of the budget this many times fails with `BudgetExceededError`
   * (default: 3; 1 to 10). Only tasks whose timeout does not fit the budget are counted.
   */
  maxCutOffs?: number;
  /**
   * While a task runs, how often its row is read to see whether it was cancelled, in ms; its
   * signal is then aborted and nothing is written (default: 5000; 0: never, the cancellation
   * then only shows when fencing refuses the run's outcome).
   */
  cancelCheckMs?: number;
  /** (default: inline:<random>) */
  workerId?: string;
  backoff?: RetryBackoff;
  /** Clock for tests (default: the database clock). */
  now?: () => Date | undefined;
  /** Every outcome that was written (or refused by fencing), cut-offs included. */
  onLanded?: (landed: Landed[]) => void;
}

export interface InlineRunResult {
  claimed: number;
  completed: number;
  failed: number;
  retried: number;
  /**
   * Outcomes and cut-offs refused by fencing (cancelled meanwhile, or the lease was lost), and
   * runs stopped because their task was cancelled (nothing written).
   */
  lost: number;
  /** Tasks handed back unstarted: claimed as the budget ran out (not counted as a retry). */
  putBack: number;
  /** Tasks cut off by the end of the budget and put back (not counted as a retry). */
  cutOff: number;
  /** Tasks cut off `maxCutOffs` times, now failed with `BudgetExceededError`. */
  budgetFailed: number;
}

/** What a finished slot leaves to write. */
type Finished = { task: ClaimedTask; run: InlineRun };

/** A run that did nothing (every count 0). */
export function emptyRunResult(): InlineRunResult {
  return { claimed: 0, completed: 0, failed: 0, retried: 0, lost: 0, putBack: 0, cutOff: 0, budgetFailed: 0 };
}

/** Claims and runs due tasks until none are left or the budget is spent. */
export async function runDueTasks(options: InlineExecutorOptions): Promise<InlineRunResult> {
  const reserveMs = options.reserveMs ?? 2000;
  const maxCutOffs = options.maxCutOffs ?? 3;
  if (!Number.isInteger(maxCutOffs) || maxCutOffs < 1 || maxCutOffs > ERROR_HISTORY_LENGTH) {
    throw new RangeError(
      `maxCutOffs must be an integer from 1 to ${ERROR_HISTORY_LENGTH}, not ${maxCutOffs}`,
    );
  }
  const deadline = Date.now() + options.budgetMs - reserveMs;
  const sql = workerStatements(options.schema ?? DEFAULT_SCHEMA);
  const workerId = options.workerId ?? `inline:${crypto.randomUUID().slice(0, 8)}`;
  const now = () => options.now?.()?.toISOString() ?? null;
  const result = emptyRunResult();
  const claimContext = {
    db: options.db,
    sql,
    workerId,
    lease: options.lease ?? 60,
    defaultRetries: options.retry ?? 0,
    queues: options.queues,
  };
  const cutOffContext = { db: options.db, sql, workerId, budgetMs: options.budgetMs, reserveMs, maxCutOffs };
  const writer = new BackgroundWriter<Finished>(async (batch) => {
    const landed = await writeFinished({ ...cutOffContext, now: now() }, options, batch, result);
    options.onLanded?.(landed);
  });
  const claimState = { longTasks: options.longTasks ?? 'try', fittingLeft: true };
  const cancelCheck = rowCancelCheck(options, sql);
  try {
    result.claimed = await runPool<ClaimedTask>({
      concurrency: options.concurrency ?? 4,
      deadline,
      claim: async (free) => {
        if (writer.failed) return [];
        return claimFitFirst({ ...claimContext, now: now() }, free, deadline, claimState);
      },
      run: async (task) =>
        writer.add({ task, run: await runInline(task, options.tasks, deadline, cancelCheck) }),
    });
  } finally {
    // Every finished task's outcome is written before the run ends, even after an error.
    await writer.settle();
  }
  return result;
}

/**
 * Claims up to `free` tasks: first those whose timeout fits the time left before `deadline`
 * (whole seconds, rounded down), then, with `'try'`, any due task for the slots still free.
 * Once a fitting claim comes back short, the run makes no more (the time left only shrinks,
 * and each one reads every due task that does not fit): only tasks due since would be missed.
 */
async function claimFitFirst(
  context: ClaimContext,
  free: number,
  deadline: number,
  state: { longTasks: 'try' | 'skip'; fittingLeft: boolean },
): Promise<ClaimedTask[]> {
  const maxTimeout = Math.floor((deadline - Date.now()) / 1000);
  let fitting: ClaimedTask[] = [];
  if (state.fittingLeft && maxTimeout >= 1) fitting = await claimTasks({ ...context, maxTimeout }, free);
  if (fitting.length < free) state.fittingLeft = false;
  if (state.longTasks === 'skip' || fitting.length === free) return fitting;
  return [...fitting, ...(await claimTasks(context, free - fitting.length))];
}

/** Writes what finished slots left (outcomes, cut-offs, unstarted tasks) and counts it. */
async function writeFinished(
  context: CutOffContext,
  options: InlineExecutorOptions,
  batch: readonly Finished[],
  result: InlineRunResult,
): Promise<Landed[]> {
  const { db, sql, workerId, now } = context;
  const outcomes: WriteBack[] = [];
  const cutOffs: CutOff[] = [];
  const unstarted: ClaimedTask[] = [];
  for (const { task, run } of batch) {
    if (run.kind === 'outcome') outcomes.push(run.outcome);
    else if (run.kind === 'cutOff') cutOffs.push({ task, durationMs: run.durationMs });
    else if (run.kind === 'cancelled') result.lost++;
    else unstarted.push(task);
  }
  const backoff = options.backoff ?? DEFAULT_RETRY_BACKOFF;
  const [written, cut, putBack] = await Promise.all([
    outcomes.length === 0 ? [] : writeBack({ db, sql, workerId, backoff, now }, outcomes),
    cutOffs.length === 0 ? [] : writeCutOffs(context, cutOffs),
    unstarted.length === 0
      ? { rowCount: 0 }
      : db.query(sql.taskPutBack, [
          unstarted.map((t) => t.id),
          unstarted.map((t) => t.attempt),
          workerId,
          now,
          unstarted.map((t) => t.token),
        ]),
  ]);
  for (const entry of written) {
    if (entry.status === null) result.lost++;
    else if (entry.status === 'COMPLETED') result.completed++;
    else if (entry.status === 'PENDING') result.retried++;
    else result.failed++;
  }
  for (const entry of cut) {
    if (entry.status === 'FAILED') result.budgetFailed++;
    else result.cutOff++;
  }
  result.lost += cutOffs.length - cut.length;
  result.putBack += putBack.rowCount;
  return [...written, ...cut];
}

/** The cancellation check of runs: the row is `CANCELLED` and keeps the run's lease token. */
function rowCancelCheck(options: InlineExecutorOptions, sql: WorkerStatements): CancelCheck {
  return {
    intervalMs: options.cancelCheckMs ?? 5000,
    cancelled: async (task) => {
      const { rows } = await options.db.query(sql.taskRunCancelled, [task.id, task.token], { prepare: true });
      return rows[0]?.cancelled === true;
    },
  };
}

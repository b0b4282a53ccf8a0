/**
 * Tasks the cron executor's time budget cut off: put back without spending a retry, and
 * counted, so that a task that cannot finish within the budget fails with an error that says
 * why instead of being claimed and aborted every minute. Edge-safe.
 * @module
 */
import type { ClaimedTask } from '../../src/core/execution/claim.ts';
import type { Database } from '../../src/core/database.ts';
import type { Landed } from '../../src/core/execution/write-back.ts';
import {
  BUDGET_CUT_OFF_ERROR,
  BUDGET_EXCEEDED_ERROR,
  type WorkerStatements,
} from '../../src/core/sql/worker-statements.ts';

export interface CutOffContext {
  db: Database;
  sql: WorkerStatements;
  workerId: string;
  /** ISO time, or null for the database clock. */
  now: string | null;
  /** The run's budget and reserve (ms): tasks run for at most the difference. */
  budgetMs: number;
  reserveMs: number;
  /** The cut-off that fails a task (1 to ERROR_HISTORY_LENGTH). */
  maxCutOffs: number;
}

/** A task stopped by the end of the budget, after running `durationMs`. */
export interface CutOff {
  task: ClaimedTask;
  durationMs: number;
}

/**
 * Whether a cut-off counts towards failing the task: only when its timeout does not fit the
 * whole budget (or it has none). A task whose timeout fits was only claimed late in a run:
 * the next run claims it with the budget it needs (fitting tasks are claimed first).
 */
export function cutOffCounts(task: ClaimedTask, usableMs: number): boolean {
  return task.timeout === null || task.timeout * 1000 > usableMs;
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** The `error_history` message of one cut-off, and the error of the one that fails the task. */
export function cutOffMessages(
  cut: CutOff,
  usableMs: number,
  maxCutOffs: number,
): { cut: string; fail: string } {
  const timeout =
    cut.task.timeout === null ? 'the task has no timeout' : `task timeout ${cut.task.timeout} s`;
  const limits = `${seconds(usableMs)} per run, ${timeout}`;
  const times = `${maxCutOffs} ${maxCutOffs === 1 ? 'time' : 'times'}`;
  return {
    cut: `Cut off after ${seconds(cut.durationMs)} by the cron executor's time budget (${limits}); put back without using a retry`,
    fail:
      `Cut off ${times} by the cron executor's time budget (${limits}): give it a timeout under the ` +
      'budget, or run it on a container worker (a queue the cron Worker does not read)',
  };
}

/**
 * Writes cut-offs, fenced by each claim's lease token: counted ones add a
 * {@link BUDGET_CUT_OFF_ERROR} to the history, or fail the task with a
 * {@link BUDGET_EXCEEDED_ERROR} at the `maxCutOffs`-th; the others are put back as they were.
 * Returns what landed (status `PENDING` or `FAILED`, as failure items for events); refused
 * cut-offs are left out.
 */
export async function writeCutOffs(context: CutOffContext, cutOffs: readonly CutOff[]): Promise<Landed[]> {
  const usableMs = context.budgetMs - context.reserveMs;
  const counted = cutOffs.filter((cut) => cutOffCounts(cut.task, usableMs));
  const uncounted = cutOffs.filter((cut) => !cutOffCounts(cut.task, usableMs));
  const [recorded, putBack] = await Promise.all([
    record(context, counted, usableMs),
    putBackAsWas(context, uncounted),
  ]);
  return [...recorded, ...putBack];
}

async function record(
  context: CutOffContext,
  cutOffs: readonly CutOff[],
  usableMs: number,
): Promise<Landed[]> {
  if (cutOffs.length === 0) return [];
  const { db, sql, workerId, now, maxCutOffs } = context;
  const input = cutOffs.map((cut) => {
    const text = cutOffMessages(cut, usableMs, maxCutOffs);
    const { id, attempt, token } = cut.task;
    return {
      id,
      attempt,
      token,
      duration: cut.durationMs / 1000,
      cut_message: text.cut,
      fail_message: text.fail,
    };
  });
  const { rows } = await db.query(sql.taskCutOff, [JSON.stringify(input), workerId, now, maxCutOffs], {
    prepare: true,
  });
  const byRun = new Map(rows.map((row) => [`${row.id as string}\n${row.token as string}`, row]));
  return cutOffs.flatMap((cut, i) => {
    const row = byRun.get(`${cut.task.id}\n${cut.task.token}`);
    if (!row) return [];
    const failed = row.status === 'FAILED';
    const message = failed ? input[i]!.fail_message : input[i]!.cut_message;
    return [landed(cut, failed ? BUDGET_EXCEEDED_ERROR : BUDGET_CUT_OFF_ERROR, message, row)];
  });
}

async function putBackAsWas(context: CutOffContext, cutOffs: readonly CutOff[]): Promise<Landed[]> {
  if (cutOffs.length === 0) return [];
  const { db, sql, workerId, now } = context;
  const tasks = cutOffs.map((cut) => cut.task);
  const { rows } = await db.query(sql.taskPutBack, [
    tasks.map((task) => task.id),
    tasks.map((task) => task.attempt),
    workerId,
    now,
    tasks.map((task) => task.token),
  ]);
  // The put-back returns no token; its ids are unique here (one run of a task per cron run).
  const byId = new Map(rows.map((row) => [row.id as string, { ...row, status: 'PENDING' }]));
  return cutOffs.flatMap((cut) => {
    const row = byId.get(cut.task.id);
    return row
      ? [landed(cut, BUDGET_CUT_OFF_ERROR, 'Cut off by the end of the cron run (not counted)', row)]
      : [];
  });
}

function landed(cut: CutOff, type: string, message: string, row: Record<string, unknown>): Landed {
  const { id, attempt, token, name } = cut.task;
  const error = { message, type, stack: null, nonRetryable: false };
  return {
    item: {
      kind: 'fail',
      id,
      attempt,
      token,
      name,
      error,
      duration: cut.durationMs / 1000,
      retryable: false,
    },
    status: row.status as 'PENDING' | 'FAILED',
    queue: row.queue as string,
  };
}

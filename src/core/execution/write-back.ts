/**
 * Fenced, batched write-back of task outcomes: all completions in one statement, all
 * failures in another; each lands only on the claim its lease token names. Shared by the container worker's completer and the inline executor.
 * @module
 */
import type { Database } from '../database.ts';
import { createTaskEvent, type TaskEvent } from '../events/task-events.ts';
import type { RetryBackoff } from '../retry-policy.ts';
import type { WorkerStatements } from '../sql/worker-statements.ts';
import { MAX_ERROR_MESSAGE, storableErrorText, type SerializedError } from '../task-error.ts';

/**
 * One task outcome to record. `json` is the result as JSON text; `token` is the lease token of
 * the claim the run came from (see `ClaimedTask.token`): the write lands only on that claim.
 */
export type WriteBack =
  | {
      kind: 'complete';
      id: string;
      attempt: number;
      token: string;
      name: string;
      json: string;
      duration: number;
      /** The task's stored trace context, whose trace id log lines carry (not written). */
      traceContext?: string | null | undefined;
    }
  | {
      kind: 'fail';
      id: string;
      attempt: number;
      token: string;
      name: string;
      error: SerializedError;
      duration: number;
      retryable: boolean;
      /** The task's stored trace context, whose trace id log lines carry (not written). */
      traceContext?: string | null | undefined;
    };

/** What a write-back did. */
export interface Landed {
  item: WriteBack;
  /** What the task became: COMPLETED, PENDING (retry) or FAILED; null when fencing refused it. */
  status: 'COMPLETED' | 'PENDING' | 'FAILED' | null;
  queue?: string;
  runAt?: Date;
}

export interface WriteBackContext {
  db: Database;
  sql: WorkerStatements;
  workerId: string;
  backoff: RetryBackoff;
  /** ISO time, or null for the database clock. */
  now: string | null;
}

/** What one write-back statement could not write: its items and the error it failed with. */
export interface Refused {
  items: WriteBack[];
  error: unknown;
}

/**
 * Writes a batch of outcomes (at most two statements, completions and failures, sent together)
 * and reports what landed. Throws the first statement's error if one failed; the other
 * statement may have landed all the same: use {@link writeBackSettled} to know.
 */
export async function writeBack(context: WriteBackContext, batch: readonly WriteBack[]): Promise<Landed[]> {
  const { landed, refused } = await writeBackSettled(context, batch);
  if (refused[0]) throw refused[0].error;
  return landed;
}

/**
 * Writes a batch of outcomes like {@link writeBack}, and reports each statement apart: what
 * landed, and the items of a statement that failed with its error (one statement can fail
 * while the other lands). Never throws.
 */
export async function writeBackSettled(
  context: WriteBackContext,
  batch: readonly WriteBack[],
): Promise<{ landed: Landed[]; refused: Refused[] }> {
  const completes = batch.filter((item): item is Completion => item.kind === 'complete');
  const fails = batch.filter((item): item is Failure => item.kind === 'fail');
  const [completed, failed] = await Promise.allSettled([
    completes.length === 0 ? undefined : completeMany(context, completes),
    fails.length === 0 ? undefined : failMany(context, fails),
  ]);
  const landed: Landed[] = [];
  const refused: Refused[] = [];
  if (completed.status === 'rejected') refused.push({ items: completes, error: completed.reason });
  else {
    const rows = byRun(completed.value?.rows);
    for (const item of completes) {
      const row = rows.get(runKey(item.id, item.token));
      landed.push({ item, status: row ? 'COMPLETED' : null, queue: row?.queue as string | undefined });
    }
  }
  if (failed.status === 'rejected') refused.push({ items: fails, error: failed.reason });
  else {
    const rows = byRun(failed.value?.rows);
    for (const item of fails) {
      const row = rows.get(runKey(item.id, item.token));
      landed.push({
        item,
        status: row ? (row.status as 'PENDING' | 'FAILED') : null,
        queue: row?.queue as string | undefined,
        runAt: row?.run_at as Date | undefined,
      });
    }
  }
  return { landed, refused };
}

// Rows that landed by run (id and token): two runs of one task may share a batch.
const runKey = (id: string, token: string) => `${id}\n${token}`;
const byRun = (rows: Record<string, unknown>[] | undefined) =>
  new Map((rows ?? []).map((row) => [runKey(row.id as string, row.token as string), row]));

type Completion = Extract<WriteBack, { kind: 'complete' }>;
type Failure = Extract<WriteBack, { kind: 'fail' }>;

async function completeMany(context: WriteBackContext, completes: readonly Completion[]) {
  const { db, sql, workerId, now } = context;
  return db.query(
    sql.taskCompleteMany,
    [
      // Results are already JSON text: spliced in, not parsed and serialised again.
      `[${completes
        .map(
          (c) =>
            `{"id":${JSON.stringify(c.id)},"attempt":${c.attempt},"token":${JSON.stringify(c.token)},"result":${c.json},"duration":${c.duration}}`,
        )
        .join(',')}]`,
      workerId,
      now,
    ],
    { prepare: true },
  );
}

async function failMany(context: WriteBackContext, fails: readonly Failure[]) {
  const { db, sql, workerId, now, backoff } = context;
  return db.query(
    sql.taskFailMany,
    [
      JSON.stringify(
        fails.map((f) => ({
          id: f.id,
          attempt: f.attempt,
          token: f.token,
          error: f.error.message,
          error_type: f.error.type,
          error_stack: f.error.stack,
          duration: f.duration,
          retryable: f.retryable,
        })),
      ),
      workerId,
      now,
      backoff.baseSeconds,
      backoff.maxSeconds,
    ],
    { prepare: true },
  );
}

/**
 * Whether a write-back's error is one a retry of the same rows cannot fix: a Postgres
 * SQLSTATE of class 22 (data exception: a value Postgres refuses, such as a NUL in jsonb),
 * 23 (integrity constraint violation), 42 (syntax error or undefined table or column) or
 * 54 (program limit exceeded: a value too large). Everything else may go away and is retried:
 * connection errors (class 08, or a driver error with no SQLSTATE), 40 (serialization
 * failure, deadlock), 53 (insufficient resources), 57 (shutdown, cancel), 58 and XX.
 */
export function isPermanentWriteBackError(error: unknown): boolean {
  return PERMANENT_SQLSTATE.test(sqlState(error));
}

const PERMANENT_SQLSTATE = /^(?:22|23|42|54)[0-9A-Z]{3}$/;

function sqlState(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : '';
}

/** The error type stored for a task whose own outcome Postgres refused to store. */
export const WRITE_BACK_ERROR = 'WriteBackError';

/**
 * What to write instead of an outcome Postgres refused for good (see
 * {@link isPermanentWriteBackError}): the task fails with a {@link WRITE_BACK_ERROR} naming the
 * SQLSTATE and Postgres's message, e.g. `result could not be stored: 23514 new row … violates
 * check constraint …`. A refused result fails at once (running the task again would most
 * likely return it again); a refused error keeps the failure's own retry decision.
 */
export function unstorableOutcome(item: WriteBack, error: unknown): WriteBack {
  const code = sqlState(error);
  const message = error instanceof Error ? error.message : String(error);
  const detail = (error as { detail?: unknown } | null)?.detail;
  const text = `${item.kind === 'complete' ? 'result' : 'error'} could not be stored: ${
    code ? `${code} ` : ''
  }${message}${typeof detail === 'string' && detail ? ` (${detail})` : ''}`;
  return {
    kind: 'fail',
    id: item.id,
    attempt: item.attempt,
    token: item.token,
    name: item.name,
    duration: item.duration,
    error: {
      message: storableErrorText(text, MAX_ERROR_MESSAGE),
      type: WRITE_BACK_ERROR,
      stack: null,
      nonRetryable: item.kind === 'complete' || !item.retryable,
    },
    retryable: item.kind === 'fail' && item.retryable,
  };
}

/** The task events of what landed (refused write-backs announce nothing). */
export function landedTaskEvents(landed: readonly Landed[]): TaskEvent[] {
  return landed.flatMap(({ item, status, queue }) => {
    if (status === null || queue === undefined) return [];
    const event =
      status === 'COMPLETED' ? 'task_finished' : status === 'PENDING' ? 'task_requeued' : 'task_failed';
    return [createTaskEvent(event, { id: item.id, queue, name: item.name, attempt: item.attempt })];
  });
}

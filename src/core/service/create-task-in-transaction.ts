/**
 * Creates a task in one transaction with the caller's own statements (one request over Neon
 * HTTP): the task exists only if all of them succeed. The task goes through the `create_task`
 * SQL function (migration 0008), which validates it again, inserts it, and sends the
 * LISTEN/NOTIFY wake-ups that Postgres delivers with the commit, so an edge client with no
 * notifier at all still wakes LISTEN workers, and a rolled-back transaction wakes nobody.
 * With tracing, the transaction first sets the create span's trace context, which the task (and
 * any task the caller's own statements create through SQL) stores by the column's default.
 * @module
 */
import { DatabaseError, type Database, type Query, type QueryResult } from '../database.ts';
import { SchemaError, TaskValidationError, TaskWorkerError, type ValidationCode } from '../errors.ts';
import { createTaskFunctionStatements, TASK_VALIDATION_SQLSTATE } from '../sql/create-task-function.ts';
import { traceStatements } from '../sql/trace-statements.ts';
import { taskFromRow, type Task } from '../task.ts';
import type { ValidatedTask } from '../validate-task.ts';

export { TASK_VALIDATION_SQLSTATE } from '../sql/create-task-function.ts';

/** What `createTaskWith` returns. */
export interface CreateTaskWithResult {
  /** The stored task; with a `uniqueKey` that had a holder (see `uniqueMode`), that task. */
  task: Task;
  /** False when the `uniqueKey` had a holder (then `task` is that one, debounced if asked). */
  created: boolean;
  /** What each of the caller's statements returned, in order. */
  results: QueryResult[];
}

/** The codes `create_task` raises, each the same as the client's for the same input. */
const SQL_VALIDATION_CODES: ReadonlySet<string> = new Set<ValidationCode>([
  'INVALID_NAME',
  'INVALID_ARGS',
  'INVALID_KWARGS',
  'NOT_JSON',
  'PAYLOAD_TOO_LARGE',
  'INVALID_TIMEOUT',
  'INVALID_RUN_AT',
  'INVALID_DELAY',
  'INVALID_QUEUE',
  'INVALID_PRIORITY',
  'INVALID_MAX_RETRIES',
  'INVALID_UNIQUE_KEY',
  'INVALID_UNIQUE_MODE',
  'INVALID_UNIQUE_PERIOD',
  'INVALID_CONCURRENCY_KEY',
  'INVALID_OPTIONS',
]);

/**
 * The {@link TaskValidationError} that `create_task` reported as SQL error `TW400` (code in
 * DETAIL, option in COLUMN), from any driver; `undefined` for any other error.
 */
export function taskValidationErrorFromDatabase(error: unknown): TaskValidationError | undefined {
  const fields = DatabaseError.from(error);
  if (fields.code !== TASK_VALIDATION_SQLSTATE || !SQL_VALIDATION_CODES.has(fields.detail ?? '')) {
    return undefined;
  }
  return new TaskValidationError(fields.detail as ValidationCode, fields.column ?? 'options', fields.message);
}

/** The arguments of `create_task` for a task the client validated. */
export function functionParams(task: ValidatedTask, maxPayloadBytes: number): unknown[] {
  const { name, argsJson, kwargsJson, runAt, delay, maxRetries, uniqueKey, ...rest } = task;
  const { timeout, queue, priority, concurrencyKey, concurrencyKeyLimit, ...modes } = rest;
  const { uniqueMode, uniquePeriod, ...unknown } = modes;
  // A field added to ValidatedTask fails to compile here until create_task is given it too.
  const none: Record<string, never> = unknown;
  const options: Record<string, unknown> = { ...none, timeout, queue, priority };
  if (runAt !== null) options.runAt = runAt;
  // A debounced task's delay is its uniquePeriod, which create_task applies itself.
  else if (delay !== 0 && uniqueMode !== 'debounce') options.delay = delay;
  if (maxRetries !== null) options.maxRetries = maxRetries;
  if (uniqueKey !== null) options.uniqueKey = uniqueKey;
  // 'unfinished' is the default: left out, so a schema before migration 9 still takes the call.
  if (uniqueMode !== null && uniqueMode !== 'unfinished') options.uniqueMode = uniqueMode;
  if (uniquePeriod !== null) options.uniquePeriod = uniquePeriod;
  if (concurrencyKey !== null) Object.assign(options, { concurrencyKey, concurrencyKeyLimit });
  return [name, argsJson, kwargsJson, JSON.stringify(options), maxPayloadBytes];
}

/** The typed error for a failed transaction, or the error itself. */
function typedError(error: unknown, schema: string): unknown {
  const invalid = taskValidationErrorFromDatabase(error);
  if (invalid) return invalid;
  const fields = DatabaseError.from(error);
  // 42883 undefined_function: the schema predates migration 0008.
  if (fields.code === '42883' && fields.message.includes('.create_task(')) {
    return new SchemaError(
      'SCHEMA_TOO_OLD',
      `Schema "${schema}" has no create_task function (migration 8): run \`task-worker migrate\`.`,
      { cause: error },
    );
  }
  return error;
}

/**
 * Returns a function that runs `queries` and then `create_task` for a validated task in one
 * transaction (`maxPayloadBytes` is passed on, so the function applies the client's limit),
 * after setting `traceContext` when there is one. The caller announces the task to notifiers
 * other than Postgres LISTEN/NOTIFY.
 */
export function taskCreatorInTransaction(
  db: Database,
  schema: string,
  maxPayloadBytes: number,
): (
  queries: readonly Query[],
  task: ValidatedTask,
  traceContext?: string | null,
) => Promise<CreateTaskWithResult> {
  const { taskCreateByFunction } = createTaskFunctionStatements(schema);
  const { traceContextSet } = traceStatements(schema);
  return async (queries, task, traceContext = null) => {
    const statement = { text: taskCreateByFunction, params: functionParams(task, maxPayloadBytes) };
    const trace = traceContext === null ? [] : [{ text: traceContextSet, params: [traceContext] }];
    let results: QueryResult[];
    try {
      results = (await db.transaction([...trace, ...queries, statement])).slice(trace.length);
    } catch (error) {
      throw typedError(error, schema);
    }
    const row = results.at(-1)?.rows[0];
    if (!row) throw new TaskWorkerError('INSERT_FAILED', `${schema}.create_task returned no row.`);
    return { task: taskFromRow(row), created: row.created === true, results: results.slice(0, -1) };
  };
}

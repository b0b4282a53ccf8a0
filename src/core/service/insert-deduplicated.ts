/**
 * Stores tasks of `uniqueMode` pending, throttle or debounce. Their deduplication needs a lock
 * per key and a fresh look at the key's holder, which one plain insert cannot give, so each goes
 * through the `create_task` SQL function (migration 0009): one statement for one task, and one
 * transaction of them for several, in key order (two batches then lock their keys in the same
 * order, and never deadlock). The function sends the LISTEN/NOTIFY wake-ups of what it creates.
 * With a trace context to store, the calls run in a transaction that first sets it (the column's
 * default reads it). The default mode never comes here: it stays one plain insert statement.
 * @module
 */
import type { Database, Row } from '../database.ts';
import { TaskWorkerError } from '../errors.ts';
import type { TaskStatements } from '../sql/task-statements.ts';
import { taskFromRow, type Task } from '../task.ts';
import type { ValidatedTask } from '../validate-task.ts';
import { functionParams, taskValidationErrorFromDatabase } from './create-task-in-transaction.ts';

/** Validated already: the function's own payload check must not apply a smaller default. */
const NO_PAYLOAD_LIMIT = 2_147_483_647;

/** A task whose `uniqueMode` is pending, throttle or debounce (the function stores it). */
export function isDeduplicatedByFunction(task: ValidatedTask): boolean {
  return task.uniqueMode !== null && task.uniqueMode !== 'unfinished';
}

/**
 * The stored (or found) task of each input, in input order, and whether the call created it.
 * The tasks it creates carry `traceContext` (null: none).
 */
export async function insertDeduplicated(
  db: Database,
  sql: TaskStatements,
  validated: readonly ValidatedTask[],
  traceContext: string | null = null,
): Promise<{ task: Task; created: boolean }[]> {
  const statement = (task: ValidatedTask) => ({
    text: sql.taskCreateDeduplicated,
    params: functionParams(task, NO_PAYLOAD_LIMIT),
  });
  // With a trace context, a transaction first sets it: create_task's insert reads it by default.
  const trace = traceContext === null ? [] : [{ text: sql.traceContextSet, params: [traceContext] }];
  let rows: (Row | undefined)[];
  try {
    if (validated.length === 1 && trace.length === 0) {
      rows = (await db.query(sql.taskCreateDeduplicated, statement(validated[0] as ValidatedTask).params))
        .rows;
    } else {
      // Key order, stable: equal keys keep input order, so the first of them is the one created.
      const order = validated.map((_, i) => i);
      order.sort((a, b) => keyOf(validated[a]).localeCompare(keyOf(validated[b])) || a - b);
      const statements = order.map((i) => statement(validated[i] as ValidatedTask));
      const results = (await db.transaction([...trace, ...statements])).slice(trace.length);
      rows = [];
      order.forEach((input, position) => (rows[input] = results[position]?.rows[0]));
    }
  } catch (error) {
    throw taskValidationErrorFromDatabase(error) ?? error;
  }
  return rows.map((row) => {
    if (!row) throw new TaskWorkerError('INSERT_FAILED', 'create_task returned no row.');
    return { task: taskFromRow(row), created: row.created === true };
  });
}

const keyOf = (task: ValidatedTask | undefined) => `${task?.uniqueMode}:${task?.uniqueKey}`;

/**
 * SQL of tracing (`trace_context`, migration 0010) beyond the inserts, which write the column
 * themselves (task-statements.ts).
 * @module
 */
import { quoteSchema } from '../schema-name.ts';

/** The statements of one schema. */
export interface TraceStatements {
  /**
   * Sets the transaction-local `task_worker.trace_context` to $1 (text), which the column's
   * default reads: tasks that `create_task` (or any SQL) inserts later in the same transaction
   * carry it. Outside a transaction it lasts one statement, so it must run in one.
   */
  readonly traceContextSet: string;
  /**
   * Stores $3 (text) as `trace_context` of task $1 while it waits for the retry that attempt $2
   * (int) scheduled: a later claim (attempt + 1) or any other change of state makes it a no-op.
   */
  readonly taskRetryTraceLink: string;
}

/** Builds the statements for `schema`. */
export function traceStatements(schema: string): TraceStatements {
  const tasks = `${quoteSchema(schema)}.tasks`;
  return {
    traceContextSet: `select set_config('task_worker.trace_context', $1, true) is not null as set`,
    taskRetryTraceLink: `
update ${tasks} set trace_context = $3
where id = $1 and attempt = $2::int and status = 'PENDING'`,
  };
}

/**
 * SQL that calls `<schema>.create_task`, the enqueue function of migration 0008: validation,
 * insert and LISTEN/NOTIFY wake-ups in one statement, so it can run inside any transaction
 * (the caller's statements over Neon HTTP, a trigger, another language).
 * @module
 */
import { quoteSchema } from '../schema-name.ts';

/**
 * The SQLSTATE `create_task` raises for refused input. The error's DETAIL is the client's
 * validation code (`INVALID_QUEUE`, ...), its COLUMN the option at fault, its message
 * the client's message.
 */
export const TASK_VALIDATION_SQLSTATE = 'TW400';

/** The statements of one schema. */
export interface CreateTaskFunctionStatements {
  /**
   * Validates and stores one task through `create_task` — $1 name, $2 args (JSON), $3 kwargs
   * (JSON), $4 options (JSON: the client's option names, values already validated), $5 the
   * largest args + kwargs in bytes — and returns one row: the task's columns and `created`
   * (false when an unfinished task held the uniqueKey; that task is returned). The function
   * returns jsonb; `jsonb_populate_record` turns it back into a typed `tasks` row, so drivers
   * parse its timestamps as they do for every other statement.
   */
  readonly taskCreateByFunction: string;
}

/** Builds the statements for `schema`. */
export function createTaskFunctionStatements(schema: string): CreateTaskFunctionStatements {
  const quoted = quoteSchema(schema);
  return {
    taskCreateByFunction: `
select t.*, (f.task ->> 'created')::boolean as created
from ${quoted}.create_task($1, $2::jsonb, $3::jsonb, $4::jsonb, $5::int) as f(task)
cross join lateral jsonb_populate_record(null::${quoted}.tasks, f.task) as t`,
  };
}

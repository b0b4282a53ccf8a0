import pg from 'pg';

/**
 * The JSON body Neon sends with an HTTP 400. The client copies every field onto its
 * `NeonDbError`, turning `null` into `undefined`.
 */
export interface ErrorAnswer {
  message: string;
  code: string;
  detail: string | null;
  hint: string | null;
  position: string | null;
  internalPosition: string | null;
  internalQuery: string | null;
  severity: string;
  where: string | null;
  table: string | null;
  column: string | null;
  schema: string | null;
  dataType: string | null;
  constraint: string | null;
  file: string | null;
  line: string | null;
  routine: string | null;
}

/**
 * An answer for a failure that did not come from Postgres (bad request, unreachable
 * database). Neon marks those with an empty `code` and `severity`.
 */
export function plainErrorAnswer(message: string): ErrorAnswer {
  return {
    message,
    code: '',
    detail: null,
    hint: null,
    position: null,
    internalPosition: null,
    internalQuery: null,
    severity: '',
    where: null,
    table: null,
    column: null,
    schema: null,
    dataType: null,
    constraint: null,
    file: null,
    line: null,
    routine: null,
  };
}

/**
 * Turns anything a query threw into Neon's error body: Postgres errors keep every field the
 * server sent, the rest become {@link plainErrorAnswer}.
 */
export function errorAnswer(error: unknown): ErrorAnswer {
  if (!(error instanceof pg.DatabaseError)) {
    return plainErrorAnswer(error instanceof Error ? error.message : String(error));
  }
  return {
    message: error.message,
    code: error.code ?? '',
    detail: error.detail ?? null,
    hint: error.hint ?? null,
    position: error.position ?? null,
    internalPosition: error.internalPosition ?? null,
    internalQuery: error.internalQuery ?? null,
    severity: error.severity ?? '',
    where: error.where ?? null,
    table: error.table ?? null,
    column: error.column ?? null,
    schema: error.schema ?? null,
    dataType: error.dataType ?? null,
    constraint: error.constraint ?? null,
    file: error.file ?? null,
    line: error.line ?? null,
    routine: error.routine ?? null,
  };
}

/**
 * The database port: the only way the core talks to Postgres.
 *
 * Drivers (node-postgres in `src/node/`, Neon HTTP in `src/drivers/`) implement it; the core
 * never opens connections or reads env. Every driver must pass `test/database-conformance.test.ts`.
 *
 * Driver contract, so that the core behaves the same on every driver:
 * - one statement per `query` (Neon HTTP's extended protocol refuses more);
 * - parameters are sent as text: pass JSON values already `JSON.stringify`-ed and cast in SQL;
 * - `timestamptz` comes back as `Date`, `int8`/`numeric` as `string`, `jsonb` parsed, `float8`
 *   as `number`, arrays as arrays;
 * - Postgres errors are rethrown as {@link DatabaseError} with the server's fields.
 * @module
 */

/** One row keyed by column name. */
export type Row = Record<string, unknown>;

/** A parameterised statement. */
export interface Query {
  readonly text: string;
  readonly params?: readonly unknown[];
}

/** What a statement returned. */
export interface QueryResult<R extends Row = Row> {
  readonly rows: R[];
  /** Rows affected or returned (the command tag's count; 0 when the tag has none). */
  readonly rowCount: number;
}

/** Hints for one statement. */
export interface QueryOptions {
  /**
   * The statement runs often with the same text: a driver with connections may prepare it
   * once per connection (saves parsing and planning, ~0.4 ms per insert measured here).
   * Stateless drivers (HTTP) ignore it.
   */
  prepare?: boolean;
}

export interface Database {
  /** Runs one statement. */
  query<R extends Row = Row>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<QueryResult<R>>;
  /**
   * Runs the statements in one transaction (`BEGIN ... COMMIT`), in order; the first error
   * rolls everything back and is thrown. One HTTP request on Neon HTTP.
   */
  transaction(queries: readonly Query[]): Promise<QueryResult[]>;
  /** Releases connections the driver owns (a no-op for HTTP). */
  close(): Promise<void>;
}

/** Fields a Postgres error carries, whichever driver reported it. */
export interface PostgresErrorFields {
  /** SQLSTATE, e.g. `23505` for a unique violation (empty for non-Postgres errors). */
  readonly code: string;
  readonly detail?: string | undefined;
  readonly hint?: string | undefined;
  readonly constraint?: string | undefined;
  readonly table?: string | undefined;
  readonly column?: string | undefined;
  readonly schema?: string | undefined;
}

/** A statement failed in Postgres (or the driver could not reach it). */
export class DatabaseError extends Error implements PostgresErrorFields {
  override readonly name = 'DatabaseError';
  readonly code: string;
  readonly detail: string | undefined;
  readonly hint: string | undefined;
  readonly constraint: string | undefined;
  readonly table: string | undefined;
  readonly column: string | undefined;
  readonly schema: string | undefined;

  constructor(message: string, fields: PostgresErrorFields, options?: { cause?: unknown }) {
    super(message, options);
    this.code = fields.code;
    this.detail = fields.detail ?? undefined;
    this.hint = fields.hint ?? undefined;
    this.constraint = fields.constraint ?? undefined;
    this.table = fields.table ?? undefined;
    this.column = fields.column ?? undefined;
    this.schema = fields.schema ?? undefined;
  }

  /** Builds a DatabaseError from a driver's error object (pg's DatabaseError, NeonDbError). */
  static from(error: unknown): DatabaseError {
    if (error instanceof DatabaseError) return error;
    const source = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
    const text = (key: string): string | undefined =>
      typeof source[key] === 'string' && source[key] !== '' ? source[key] : undefined;
    const message = error instanceof Error ? error.message : String(error);
    return new DatabaseError(
      message,
      {
        code: text('code') ?? '',
        detail: text('detail'),
        hint: text('hint'),
        constraint: text('constraint'),
        table: text('table'),
        column: text('column'),
        schema: text('schema'),
      },
      { cause: error },
    );
  }
}

/** SQLSTATE codes the core reacts to. */
export const SqlState = {
  uniqueViolation: '23505',
  checkViolation: '23514',
  undefinedTable: '42P01',
  syntaxError: '42601',
} as const;

import type pg from 'pg';
import type { SqlStatement } from './sql-request.ts';

/** One column description, as Neon reports it. */
export interface FieldAnswer {
  name: string;
  dataTypeID: number;
  tableID: number;
  columnID: number;
  dataTypeSize: number;
  dataTypeModifier: number;
  format: 'text';
}

/** The JSON Neon answers for one statement; the client parses values from `dataTypeID`. */
export interface ResultAnswer {
  fields: FieldAnswer[];
  command: string | null;
  rowCount: number | null;
  rowAsArray: true;
  rows: Array<Array<string | null>>;
}

// @types/pg does not declare queryMode; pg's Query reads it to force Parse/Bind/Execute.
type ExtendedQueryConfig = pg.QueryArrayConfig & { queryMode: 'extended' };

function extended(statement: SqlStatement): ExtendedQueryConfig {
  // Always the extended protocol, even without params: Postgres then refuses several
  // statements in one query (42601), as Neon does. Unnamed, so nothing is cached per connection.
  return { text: statement.query, values: statement.params, rowMode: 'array', queryMode: 'extended' };
}

function toAnswer(result: pg.QueryArrayResult<Array<string | null>>): ResultAnswer {
  return {
    fields: result.fields.map((field) => ({
      name: field.name,
      dataTypeID: field.dataTypeID,
      tableID: field.tableID,
      columnID: field.columnID,
      dataTypeSize: field.dataTypeSize,
      dataTypeModifier: field.dataTypeModifier,
      format: 'text',
    })),
    // pg keeps the command tag's first word and its row count (null when the tag has none).
    command: result.command ?? null,
    rowCount: result.rowCount ?? null,
    rowAsArray: true,
    rows: result.rows,
  };
}

/** Runs one statement on any pooled connection. */
export async function runStatement(pool: pg.Pool, statement: SqlStatement): Promise<ResultAnswer> {
  return toAnswer(await pool.query<Array<string | null>>(extended(statement)));
}

/**
 * Runs the statements in order in one transaction opened with `begin`. The first error rolls
 * back and is rethrown; a connection whose rollback also fails is discarded, not reused.
 */
export async function runBatch(
  pool: pg.Pool,
  begin: string,
  statements: readonly SqlStatement[],
): Promise<ResultAnswer[]> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(begin);
    const answers: ResultAnswer[] = [];
    for (const statement of statements) {
      answers.push(toAnswer(await client.query<Array<string | null>>(extended(statement))));
    }
    await client.query('COMMIT');
    return answers;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

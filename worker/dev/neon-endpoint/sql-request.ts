import type { IncomingHttpHeaders } from 'node:http';

/** One statement as the client sends it; params are text or `null` from `neon()`. */
export interface SqlStatement {
  query: string;
  params: unknown[];
}

/** What one HTTP request asks for: a lone statement, or a batch run as one transaction. */
export type SqlRequest =
  { kind: 'single'; statement: SqlStatement } | { kind: 'batch'; statements: SqlStatement[]; begin: string };

/** The request cannot be understood; answered as a non-Postgres error. */
export class BadSqlRequest extends Error {
  override readonly name = 'BadSqlRequest';
}

const ISOLATION_LEVELS: Record<string, string> = {
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
  Serializable: 'SERIALIZABLE',
};

/**
 * Parses a request body (`{query, params}` or `{queries: [...]}`) and, for a batch, builds
 * its `BEGIN` from the `Neon-Batch-*` headers.
 * @throws BadSqlRequest when the body or a batch header is malformed.
 */
export function parseSqlRequest(body: Buffer, headers: IncomingHttpHeaders): SqlRequest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new BadSqlRequest(`request body is not valid JSON: ${(error as Error).message}`);
  }
  if (!isRecord(json)) throw new BadSqlRequest('request body must be a JSON object');
  if ('queries' in json) {
    if (!Array.isArray(json.queries)) throw new BadSqlRequest('"queries" must be an array');
    return { kind: 'batch', statements: json.queries.map(toStatement), begin: beginStatement(headers) };
  }
  return { kind: 'single', statement: toStatement(json) };
}

function toStatement(value: unknown): SqlStatement {
  if (!isRecord(value) || typeof value.query !== 'string') {
    throw new BadSqlRequest('each statement needs a string "query"');
  }
  const params = value.params ?? [];
  if (!Array.isArray(params)) throw new BadSqlRequest('"params" must be an array');
  return { query: value.query, params };
}

function beginStatement(headers: IncomingHttpHeaders): string {
  const parts = ['BEGIN'];
  const isolation = header(headers, 'neon-batch-isolation-level');
  if (isolation !== undefined) {
    const level = ISOLATION_LEVELS[isolation];
    if (level === undefined) {
      throw new BadSqlRequest(`invalid Neon-Batch-Isolation-Level ${JSON.stringify(isolation)}`);
    }
    parts.push('ISOLATION LEVEL', level);
  }
  // The client sends "false" explicitly; like Neon, only "true" changes anything.
  if (header(headers, 'neon-batch-read-only') === 'true') parts.push('READ ONLY');
  if (header(headers, 'neon-batch-deferrable') === 'true') parts.push('DEFERRABLE');
  return parts.join(' ');
}

/** A request header as one string (Node joins repeated custom headers with ", "). */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The Neon HTTP driver: one HTTPS request per statement or transaction, no TCP, no Node
 * built-ins. For edge functions and Workers.
 * @module
 */
import { neon, neonConfig } from '@neondatabase/serverless';
import { DatabaseError, type Database, type Query, type QueryResult, type Row } from '../../core/database.ts';

export interface NeonHttpDatabaseOptions {
  /** Neon connection string, `postgresql://user:password@host/db`. */
  connectionString: string;
  /**
   * Where SQL-over-HTTP requests go, e.g. `http://127.0.0.1:4444/sql` for the local endpoint of
   * `task-worker dev` (default: Neon's endpoint for the host). This sets the process-global
   * `neonConfig.fetchEndpoint`, the only place the Neon driver reads it from.
   */
  fetchEndpoint?: string;
  /**
   * Sent as `Authorization: Bearer <authToken>` with every request (default: none). With Neon,
   * the JWT of Neon Authorize (RLS); with `task-worker dev`, the token of its local endpoint,
   * which refuses requests without it (`NEON_AUTH_TOKEN` in the environment it prints). A
   * function is called before each request, e.g. to hand over a fresh JWT.
   */
  authToken?: string | (() => string | Promise<string>);
}

interface FullResult {
  rows: Row[];
  rowCount: number | null;
}

/** A {@link Database} over `neon()` from `@neondatabase/serverless`. */
export function createNeonHttpDatabase(options: NeonHttpDatabaseOptions): Database {
  if (options.fetchEndpoint) neonConfig.fetchEndpoint = options.fetchEndpoint;
  const sql = neon(options.connectionString, {
    fullResults: true,
    ...(options.authToken === undefined ? {} : { authToken: options.authToken }),
  });
  const toResult = <R extends Row>(raw: FullResult): QueryResult<R> => ({
    rows: raw.rows as R[],
    rowCount: raw.rowCount ?? 0,
  });
  return {
    async query<R extends Row = Row>(text: string, params?: readonly unknown[]) {
      try {
        return toResult<R>((await sql.query(text, params ? [...params] : [])) as FullResult);
      } catch (error) {
        throw DatabaseError.from(error);
      }
    },
    async transaction(queries: readonly Query[]) {
      if (queries.length === 0) return [];
      try {
        const results = (await sql.transaction((txn) =>
          queries.map((query) => txn.query(query.text, query.params ? [...query.params] : [])),
        )) as unknown as FullResult[];
        return results.map((raw) => toResult(raw));
      } catch (error) {
        throw DatabaseError.from(error);
      }
    },
    async close() {},
  };
}

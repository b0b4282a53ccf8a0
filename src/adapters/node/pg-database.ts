/**
 * The node-postgres driver (TCP, pooled): for containers, the worker and Node apps.
 * @module
 */
import pg from 'pg';
import { ConfigError } from '../../core/errors.ts';
import {
  DatabaseError,
  type Database,
  type Query,
  type QueryOptions,
  type QueryResult,
  type Row,
} from '../../core/database.ts';

export interface PgDatabaseOptions {
  /** `postgres://...` URL. Give this, `host` (with `port`, `user`, ...) or `pool`. */
  connectionString?: string;
  /** Server host (or Unix socket directory) when there is no `connectionString`. */
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** TLS: `true`, or node-postgres/`tls.connect` options. */
  ssl?: pg.ClientConfig['ssl'];
  /** An existing pool to use; it is not ended by `close()`. */
  pool?: pg.Pool;
  /** Pool size when this driver creates the pool (default: 10). */
  max?: number;
  /** Name shown in `pg_stat_activity` (default: edge-task-worker). */
  applicationName?: string;
  /**
   * Prepare the statements the core marks as hot, once per connection (default: true). Turn
   * it off behind a PgBouncer in transaction mode older than 1.21, which cannot keep named
   * prepared statements.
   */
  prepareStatements?: boolean;
}

// Always the extended protocol, as on Neon HTTP: exactly one statement per query, so SQL that
// works here works there (the simple protocol would accept `select 1; select 2`).
function statement(text: string, params: readonly unknown[] | undefined, name?: string): pg.QueryConfig {
  return { text, values: params as unknown[] | undefined, queryMode: 'extended', name } as pg.QueryConfig;
}

/** A stable name per statement text (FNV-1a), so each connection prepares it once. */
function statementName(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return `etw_${(hash >>> 0).toString(36)}_${text.length.toString(36)}`;
}

function result<R extends Row>(raw: pg.QueryResult): QueryResult<R> {
  return { rows: raw.rows as R[], rowCount: raw.rowCount ?? 0 };
}

const EXPECTED =
  "a connection URL ('postgres://user:password@host:5432/database') or an options object with " +
  '`connectionString`, `host` (plus `port`, `user`, `password`, `database`) or `pool`';

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return value.trim() === '' ? 'an empty string' : 'a string';
  if (typeof value !== 'object') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return 'an array';
  return `an object with ${Object.keys(value).length ? Object.keys(value).join(', ') : 'no properties'}`;
}

/** The options, from a URL string or an options object; a ConfigError naming what to pass otherwise. */
function pgOptions(input: unknown): PgDatabaseOptions {
  if (typeof input === 'string' && input.trim() !== '') return { connectionString: input };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError(`createPgDatabase needs ${EXPECTED}; got ${describe(input)}.`);
  }
  const options = input as PgDatabaseOptions;
  if (options.pool) return options;
  const url: unknown = options.connectionString;
  if (typeof url === 'string' && url.trim() !== '') return options;
  const host = typeof options.host === 'string' && options.host !== '';
  if (url !== undefined || ('connectionString' in options && !host)) {
    throw new ConfigError(
      `createPgDatabase: connectionString must be a 'postgres://…' URL; got ${describe(url)}` +
        (url === undefined ? ' (is the environment variable it comes from, e.g. DATABASE_URL, set?).' : '.'),
    );
  }
  if (!host) {
    throw new ConfigError(`createPgDatabase needs ${EXPECTED}; got ${describe(input)}.`);
  }
  return options;
}

/**
 * A {@link Database} over a `pg.Pool`: `createPgDatabase('postgres://…')`, or with options
 * (`{ connectionString, max }`, `{ host, user, ... }`, `{ pool }`).
 * @throws ConfigError for anything else (a number, an empty string, an object without
 *   `connectionString`, `host` or `pool`).
 */
export function createPgDatabase(
  connection: string | PgDatabaseOptions,
): Database & { readonly pool: pg.Pool } {
  const options = pgOptions(connection);
  const owned = !options.pool;
  const prepare = options.prepareStatements ?? true;
  const pool =
    options.pool ??
    new pg.Pool({
      connectionString: options.connectionString,
      host: options.host,
      port: options.port,
      user: options.user,
      password: options.password,
      database: options.database,
      ssl: options.ssl,
      max: options.max ?? 10,
      application_name: options.applicationName ?? 'edge-task-worker',
    });
  // An idle client dying (server restart, network) must not crash the process; the pool
  // replaces it on the next query.
  if (owned) pool.on('error', () => undefined);
  return {
    pool,
    async query<R extends Row = Row>(text: string, params?: readonly unknown[], options?: QueryOptions) {
      const name = options?.prepare && prepare ? statementName(text) : undefined;
      try {
        return result<R>(await pool.query(statement(text, params, name)));
      } catch (error) {
        throw DatabaseError.from(error);
      }
    },
    async transaction(queries: readonly Query[]) {
      const client = await pool.connect().catch((error: unknown) => {
        throw DatabaseError.from(error);
      });
      let broken: unknown;
      try {
        await client.query('begin');
        const results: QueryResult[] = [];
        for (const query of queries) {
          results.push(result(await client.query(statement(query.text, query.params))));
        }
        await client.query('commit');
        return results;
      } catch (error) {
        await client.query('rollback').catch((rollbackError: unknown) => {
          broken = rollbackError;
        });
        throw DatabaseError.from(error);
      } finally {
        // A client whose rollback failed is in an unknown state: destroy it, don't reuse it.
        client.release(broken instanceof Error ? broken : undefined);
      }
    },
    async close() {
      if (owned) await pool.end();
    },
  };
}

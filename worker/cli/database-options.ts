/**
 * The database options every command that talks to Postgres shares: `--database-url` (or
 * `DATABASE_URL`) and `--schema` (or `TASK_WORKER_SCHEMA`), read and checked one way.
 * @module
 */
import { ConfigError } from '../../src/core/errors.ts';
import { DEFAULT_SCHEMA } from '../../src/core/schema-name.ts';
import { checkDatabaseUrl } from '../container/database-wait.ts';

/** The parsed `--database-url` and `--schema` values of a command's argv. */
export interface DatabaseArgs {
  'database-url'?: string;
  schema?: string;
}

/**
 * The database URL and schema a command uses, flags first, then the environment.
 * @throws ConfigError without a URL, or with one that is not a postgres:// URL.
 */
export function databaseOptions(values: DatabaseArgs): { url: string; schema: string } {
  const url = values['database-url'] ?? process.env.DATABASE_URL;
  if (!url) throw new ConfigError('No database: pass --database-url or set DATABASE_URL.');
  checkDatabaseUrl(url);
  return { url, schema: values.schema ?? process.env.TASK_WORKER_SCHEMA ?? DEFAULT_SCHEMA };
}

/**
 * Turns `REDIS_URL` (+ `REDIS_PASSWORD`, TLS) into ioredis connection options.
 * @module
 */
import type { ConnectionOptions } from 'node:tls';
import type { RedisOptions } from 'ioredis';
import { ConfigError } from '../../core/errors.ts';

/** Where a Redis server is. */
export interface RedisConnection {
  /**
   * `redis://[user[:password]@]host[:port][/db]`, or `rediss://...` for TLS (Upstash's TCP
   * endpoint, ElastiCache with in-transit encryption).
   */
  url: string;
  /** Overrides the URL's password, e.g. from `REDIS_PASSWORD` (default: the URL's). */
  password?: string;
  /**
   * TLS: `true`, or Node TLS options (a private CA, `servername`). `false` turns TLS off even
   * for `rediss://` (default: on for `rediss://`, off for `redis://`).
   */
  tls?: boolean | ConnectionOptions;
}

/**
 * ioredis options for `connection`: host, port, credentials, database and TLS, nothing else.
 * Parsing here rather than handing ioredis the URL keeps one precedence rule (explicit options
 * win over the URL) and lets a bad URL fail at start-up with a clear error.
 * @throws ConfigError for a URL that is not `redis://` or `rediss://`, or a bad port or db.
 */
export function redisConnectionOptions(connection: RedisConnection): RedisOptions {
  let url: URL;
  try {
    url = new URL(connection.url);
  } catch {
    throw new ConfigError(
      `Invalid Redis URL ${redact(connection.url)}: expected redis://host:port or rediss://...`,
    );
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(
      `Invalid Redis URL ${redact(connection.url)}: the scheme must be redis:// or rediss:// (TLS), not ${url.protocol}//.`,
    );
  }
  if (!url.hostname) throw new ConfigError(`Invalid Redis URL ${redact(connection.url)}: it has no host.`);
  const port = url.port ? Number(url.port) : 6379;
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) {
    throw new ConfigError(`Invalid Redis URL ${redact(connection.url)}: the path must be a database number.`);
  }
  const options: RedisOptions = { host: url.hostname.replace(/^\[|\]$/g, ''), port, db };
  if (url.username) options.username = decodeURIComponent(url.username);
  const password = connection.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
  if (password !== undefined && password !== '') options.password = password;
  const tls = connection.tls ?? url.protocol === 'rediss:';
  if (tls !== false) options.tls = tls === true ? {} : tls;
  return options;
}

/** The URL with its password replaced, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/**
 * Every route answers 503 `DATABASE_UNAVAILABLE` with `Retry-After` when the database cannot be
 * reached: real drivers pointed at a port nothing listens on (node-postgres over TCP, Neon HTTP
 * at a closed endpoint), and the error mapping on the errors drivers are known to throw.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Hono } from 'hono';
import { DatabaseError, type Database } from '../src/core/database.ts';
import { createNeonHttpDatabase } from '../src/adapters/edge/neon-http-database.ts';
import { isDatabaseUnavailable } from '../src/http/database-unavailable.ts';
import { createApp } from '../src/http/index.ts';
import { createPgDatabase } from '../src/adapters/node/pg-database.ts';

const TOKEN = 'down-token-61ac';
const ID = '0000000000000000000000';

/** A TCP port nothing listens on (bound, read, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', () => listening()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((closed) => server.close(() => closed()));
  return port;
}

interface DownDriver {
  name: string;
  open(): Promise<{ db: Database; close(): Promise<void> }>;
}

const drivers: DownDriver[] = [
  {
    name: 'node-postgres at a closed port',
    async open() {
      const db = createPgDatabase({
        connectionString: `postgres://postgres@127.0.0.1:${await closedPort()}/test`,
      });
      return { db, close: () => db.close() };
    },
  },
  {
    name: 'Neon HTTP at a closed endpoint',
    async open() {
      const port = await closedPort();
      const db = createNeonHttpDatabase({
        connectionString: 'postgresql://postgres:local@127.0.0.1/test',
        fetchEndpoint: `http://127.0.0.1:${port}/sql`,
      });
      return { db, close: () => db.close() };
    },
  },
];

describe.each(drivers)('$name', (driver) => {
  let handle: Awaited<ReturnType<DownDriver['open']>>;
  let app: Hono;
  const onError = vi.fn();
  beforeAll(async () => {
    handle = await driver.open();
    app = createApp({ database: handle.db, apiToken: TOKEN, onError });
  });
  afterAll(async () => handle.close());

  const auth = { Authorization: `Bearer ${TOKEN}` };
  const json = { ...auth, 'Content-Type': 'application/json' };

  it('answers 503 DATABASE_UNAVAILABLE with Retry-After on every API route', async () => {
    for (const [method, path, body] of [
      ['GET', '/healthz', undefined],
      ['GET', '/tasks', undefined],
      ['GET', `/tasks/${ID}`, undefined],
      ['GET', `/tasks/${ID}/wait?timeout=0`, undefined],
      ['POST', '/tasks', '{"name":"app.tasks.down"}'],
      ['POST', '/tasks', '[{"name":"app.tasks.down"}]'],
      ['POST', `/tasks/${ID}/cancel`, undefined],
      ['POST', `/tasks/${ID}/retry`, undefined],
      ['GET', '/stats', undefined],
    ] as const) {
      const response = await app.request(path, { method, headers: json, body });
      const text = await response.text();
      expect(response.status, `${method} ${path}: ${text}`).toBe(503);
      expect(JSON.parse(text).error.code).toBe('DATABASE_UNAVAILABLE');
      expect(Number(response.headers.get('Retry-After'))).toBeGreaterThan(0);
    }
    expect(onError).toHaveBeenCalled();
  });

  it('answers the dashboard pages with an HTML 503 page', async () => {
    for (const [method, path] of [
      ['GET', '/dashboard'],
      ['GET', `/dashboard/tasks/${ID}`],
      ['POST', `/dashboard/tasks/${ID}/cancel`],
      ['POST', `/dashboard/tasks/${ID}/retry`],
    ] as const) {
      const response = await app.request(path, {
        method,
        headers: { ...auth, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: method === 'POST' ? '' : undefined,
      });
      const text = await response.text();
      expect(response.status, `${method} ${path}: ${text.slice(0, 200)}`).toBe(503);
      expect(response.headers.get('Content-Type')).toMatch(/^text\/html/);
      expect(Number(response.headers.get('Retry-After'))).toBeGreaterThan(0);
      expect(text).toContain('database is unavailable');
      expect(response.headers.get('Cache-Control')).toBe('no-store');
    }
  });

  it('says the same without a token', async () => {
    const open = createApp({ database: handle.db, apiToken: false, onError: () => undefined });
    const response = await open.request('/tasks');
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('DATABASE_UNAVAILABLE');
    expect((await open.request('/dashboard')).status).toBe(503);
  });
});

describe('isDatabaseUnavailable', () => {
  const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

  it('knows the connection failures drivers report', () => {
    for (const error of [
      DatabaseError.from(withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1')),
      DatabaseError.from(withCode('ECONNRESET')),
      DatabaseError.from(withCode('ETIMEDOUT')),
      DatabaseError.from(withCode('ENOTFOUND', 'getaddrinfo ENOTFOUND db.internal')),
      DatabaseError.from(withCode('EHOSTUNREACH')),
      DatabaseError.from(withCode('57P01', 'terminating connection due to administrator command')),
      DatabaseError.from(withCode('57P03', 'the database system is starting up')),
      DatabaseError.from(withCode('08006')),
      DatabaseError.from(withCode('53300', 'too many connections')),
      DatabaseError.from(new Error('Connection terminated unexpectedly')),
      DatabaseError.from(new Error('Cannot use a pool after calling end on the pool')),
      // A driver that does not wrap: pg's own errors, and Neon's fetch failure with its cause.
      withCode('ECONNREFUSED'),
      withCode('57P01'),
      new Error('Connection terminated due to connection timeout'),
      new Error('Cannot use a pool after calling end on the pool'),
      Object.assign(new Error('Error connecting to database: TypeError: fetch failed'), {
        name: 'NeonDbError',
        sourceError: new TypeError('fetch failed', { cause: withCode('ECONNREFUSED') }),
      }),
      new TypeError('fetch failed', { cause: withCode('ENOTFOUND') }),
    ]) {
      expect(
        isDatabaseUnavailable(error),
        `${error.message} ${String((error as { code?: string }).code)}`,
      ).toBe(true);
    }
  });

  it('leaves query errors and bugs alone', () => {
    for (const error of [
      DatabaseError.from(withCode('23505')),
      DatabaseError.from(withCode('42P01')),
      DatabaseError.from(withCode('08P01', 'protocol violation')),
      DatabaseError.from(withCode('ERR_INVALID_ARG_TYPE')),
      new Error('password=hunter2 at db.internal:5432'),
      withCode('23505'),
      new TypeError('Cannot read properties of undefined'),
    ]) {
      expect(isDatabaseUnavailable(error), error.message).toBe(false);
    }
  });
});

/**
 * Waiting for the database at start-up (worker/container/database-wait.ts): which errors are
 * worth waiting for, the back-off, the limit, the abort, and the errors Postgres really sends.
 */
import { createServer } from 'node:net';
import { describe, expect, inject, it } from 'vitest';
import { createPgDatabase } from '../src/adapters/node/pg-database.ts';
import { DatabaseError } from '../src/core/database.ts';
import { SchemaError, TaskWorkerError } from '../src/core/errors.ts';
import {
  checkDatabaseUrl,
  classifyDatabaseError,
  retryDelayMs,
  waitSecondsOption,
  withDatabaseWait,
} from '../worker/container/database-wait.ts';
import type { Logger, LogFields } from '../worker/container/logger.ts';

const databaseUrl = inject('databaseUrl');

/** A TCP port nothing listens on (bound, read, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', () => listening()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((closed) => server.close(() => closed()));
  return port;
}

function postgresError(code: string, message = `error ${code}`): DatabaseError {
  return new DatabaseError(message, { code });
}

function recordingLogger(): Logger & { lines: Array<{ level: string; event: string } & LogFields> } {
  const lines: Array<{ level: string; event: string } & LogFields> = [];
  return { lines, log: (level, event, fields = {}) => lines.push({ level, event, ...fields }) };
}

/** The error a query through node-postgres rejects with, for `url`. */
async function errorFrom(url: string): Promise<unknown> {
  const db = createPgDatabase({ connectionString: url, max: 1 });
  try {
    await db.query('select 1');
    throw new Error(`expected ${url} to fail`);
  } catch (error) {
    return error;
  } finally {
    await db.close();
  }
}

function withPath(url: string, path: string): string {
  const copy = new URL(url);
  copy.pathname = path;
  return copy.toString();
}

describe('classifyDatabaseError', () => {
  it('waits for a server that is starting, shutting down, full or unreachable', () => {
    for (const code of ['57P03', '57P01', '57P02', '53300', '53100', '08006', '08001']) {
      expect(classifyDatabaseError(postgresError(code)), code).toBe('transient');
    }
    for (const errno of [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'ENOTFOUND',
      'EAI_AGAIN',
      'EHOSTUNREACH',
    ]) {
      expect(classifyDatabaseError(Object.assign(new Error(errno), { code: errno })), errno).toBe(
        'transient',
      );
    }
    expect(classifyDatabaseError(new Error('Connection terminated unexpectedly'))).toBe('transient');
    expect(classifyDatabaseError(new Error('timeout exceeded when trying to connect'))).toBe('transient');
    // Node's connection to several addresses (localhost: ::1 and 127.0.0.1) fails with all of them.
    const aggregate = new AggregateError(
      [Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })],
      'x',
    );
    expect(classifyDatabaseError(aggregate)).toBe('transient');
    // Wrapped, e.g. a migration that failed because the server went away.
    const wrapped = new SchemaError('MIGRATION_FAILED', 'failed', { cause: postgresError('57P01') });
    expect(classifyDatabaseError(wrapped)).toBe('transient');
  });

  it('fails at once on authentication, an unknown database, a protocol error and anything else', () => {
    for (const code of ['28P01', '28000', '3D000', '08P01', '42P01', '42501']) {
      expect(classifyDatabaseError(postgresError(code)), code).toBe('fatal');
    }
    expect(classifyDatabaseError(new TypeError('Invalid URL'))).toBe('fatal');
    expect(classifyDatabaseError(new Error('The server does not support SSL connections'))).toBe('fatal');
    expect(classifyDatabaseError(new SchemaError('SCHEMA_TOO_OLD', 'old'))).toBe('fatal');
    expect(classifyDatabaseError('a string')).toBe('fatal');
  });

  it('classifies what node-postgres really rejects with', async () => {
    const refused = await errorFrom(`postgres://postgres@127.0.0.1:${await closedPort()}/test`);
    expect(refused).toMatchObject({ code: 'ECONNREFUSED' });
    expect(classifyDatabaseError(refused)).toBe('transient');
    const noDatabase = await errorFrom(withPath(databaseUrl, '/etw_no_such_database'));
    expect(noDatabase).toMatchObject({ code: '3D000' });
    expect(classifyDatabaseError(noDatabase)).toBe('fatal');
    const noRole = new URL(databaseUrl);
    noRole.username = 'etw_no_such_role';
    const unknownRole = await errorFrom(noRole.toString());
    expect((unknownRole as DatabaseError).code).toMatch(/^28(000|P01)$/);
    expect(classifyDatabaseError(unknownRole)).toBe('fatal');
  });
});

describe('retryDelayMs', () => {
  it('starts at 0.5 s and doubles up to 10 s, with up to 25% jitter either way', () => {
    const middle = Array.from({ length: 8 }, (_, i) => retryDelayMs(i + 1, () => 0.5));
    expect(middle).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
    expect(retryDelayMs(1, () => 0)).toBe(375);
    expect(retryDelayMs(1, () => 1)).toBe(625);
    expect(retryDelayMs(1000, () => 1)).toBe(12_500);
  });
});

describe('options', () => {
  it('--wait-for-database takes seconds or "forever"', () => {
    expect(waitSecondsOption(undefined, 60)).toBe(60);
    expect(waitSecondsOption('forever', 60)).toBe(Infinity);
    expect(waitSecondsOption('0', Infinity)).toBe(0);
    expect(waitSecondsOption('2.5', Infinity)).toBe(2.5);
    for (const bad of ['', '-1', 'soon', 'NaN']) {
      expect(() => waitSecondsOption(bad, 60), bad).toThrow(/--wait-for-database must be/);
    }
  });

  it('a database URL must be a postgres:// URL', () => {
    expect(() => checkDatabaseUrl('postgres://u:p@db:5432/app')).not.toThrow();
    expect(() => checkDatabaseUrl('postgresql://u@db/app')).not.toThrow();
    expect(() => checkDatabaseUrl('notaurl')).toThrow(/is not a URL/);
    expect(() => checkDatabaseUrl('http://db:5432/app')).toThrow(/must be a postgres:\/\/ URL/);
    expect(() => checkDatabaseUrl('postgres://u@db:99999/app')).toThrow(/is not a URL/);
  });
});

describe('withDatabaseWait', () => {
  it('retries while the server is unreachable, logging each wait, and gives up at the limit', async () => {
    const db = createPgDatabase({
      connectionString: `postgres://postgres@127.0.0.1:${await closedPort()}/test`,
    });
    const logger = recordingLogger();
    const started = Date.now();
    try {
      const error = await withDatabaseWait(() => db.query('select 1'), {
        limitSeconds: 1.2,
        logger,
        random: () => 0.5,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TaskWorkerError);
      expect(error).toMatchObject({
        code: 'DATABASE_UNAVAILABLE',
        message: expect.stringMatching(/still unavailable after 1\.2 s \(\d+ attempts\).*ECONNREFUSED/),
      });
    } finally {
      await db.close();
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(1150);
    // Tries at 0, 0.5 s and 1.2 s: the second delay (1 s) is cut to what is left of the limit.
    expect(logger.lines.slice(0, 2)).toEqual([
      expect.objectContaining({
        level: 'warn',
        event: 'database_unavailable',
        attempt: 1,
        delayMs: 500,
        code: 'ECONNREFUSED',
      }),
      expect.objectContaining({
        level: 'warn',
        event: 'database_unavailable',
        attempt: 2,
        code: 'ECONNREFUSED',
      }),
    ]);
    expect(logger.lines[1]!.delayMs).toBeLessThanOrEqual(700);
    expect(logger.lines.every((line) => line.event === 'database_unavailable')).toBe(true);
  });

  it('logs database_available once the action succeeds after waiting', async () => {
    const logger = recordingLogger();
    let calls = 0;
    const value = await withDatabaseWait(
      async () => {
        calls++;
        if (calls < 3) throw postgresError('57P03', 'the database system is starting up');
        return 'up';
      },
      { limitSeconds: Infinity, logger, random: () => 0 },
    );
    expect(value).toBe('up');
    expect(logger.lines.map((line) => [line.event, line.code ?? line.attempts])).toEqual([
      ['database_unavailable', '57P03'],
      ['database_unavailable', '57P03'],
      ['database_available', 3],
    ]);
  });

  it('fails at once, with what to check, on a database that does not exist', async () => {
    const db = createPgDatabase({ connectionString: withPath(databaseUrl, '/etw_no_such_database') });
    const logger = recordingLogger();
    try {
      const error = await withDatabaseWait(() => db.query('select 1'), {
        limitSeconds: Infinity,
        logger,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseError);
      expect(error).toMatchObject({
        code: '3D000',
        message: expect.stringMatching(/does not exist \(3D000\): check the database name.*not retrying/),
      });
    } finally {
      await db.close();
    }
    expect(logger.lines).toEqual([]);
  });

  it('with limit 0 throws the first error as it is', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    await expect(
      withDatabaseWait(() => Promise.reject(refused), { limitSeconds: 0 }).catch((e: unknown) => e),
    ).resolves.toBe(refused);
  });

  it('an abort ends the wait at once with its reason', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const logger = recordingLogger();
    const waiting = withDatabaseWait(
      () => Promise.reject(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })),
      { limitSeconds: Infinity, logger, signal: controller.signal, random: () => 1 },
    ).catch((e: unknown) => e);
    while (logger.lines.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    const abortedAt = Date.now();
    controller.abort(reason);
    expect(await waiting).toBe(reason);
    expect(Date.now() - abortedAt).toBeLessThan(200);
    // A retry that hangs (a connection that never answers) is not waited for either.
    const hanging = new AbortController();
    let calls = 0;
    const pending = withDatabaseWait(
      () => {
        calls++;
        if (calls === 1) return Promise.reject(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
        return new Promise<never>(() => undefined);
      },
      { limitSeconds: Infinity, signal: hanging.signal, random: () => 0 },
    ).catch((e: unknown) => e);
    while (calls < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    hanging.abort(reason);
    expect(await pending).toBe(reason);
  });

  it('an abort during the first attempt lets it finish: a normal start is not turned into a failure', async () => {
    const controller = new AbortController();
    const value = await withDatabaseWait(
      async () => {
        controller.abort(new Error('stop'));
        await new Promise((resolve) => setTimeout(resolve, 50));
        return 'up';
      },
      { limitSeconds: Infinity, signal: controller.signal },
    );
    expect(value).toBe('up');
  });
});

import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { ConfigError } from '../src/core/errors.ts';
import { createPgDatabase, type PgDatabaseOptions } from '../src/adapters/node/pg-database.ts';

const databaseUrl = inject('databaseUrl');

async function currentUser(connection: string | PgDatabaseOptions): Promise<unknown> {
  const db = createPgDatabase(connection);
  try {
    const { rows } = await db.query<{ user: string }>('select current_user as "user"');
    return rows[0]?.user;
  } finally {
    await db.close();
  }
}

describe('createPgDatabase', () => {
  it('connects with a URL string, as people write it', async () => {
    expect(await currentUser(databaseUrl)).toBe(new URL(databaseUrl).username || 'postgres');
  });

  it('still takes an options object with connectionString', async () => {
    expect(await currentUser({ connectionString: databaseUrl, max: 2 })).toBeTypeOf('string');
  });

  it('takes host, port, user, password and database without a URL', async () => {
    const url = new URL(databaseUrl);
    const user = await currentUser({
      host: url.hostname,
      port: Number(url.port || 5432),
      user: decodeURIComponent(url.username) || 'postgres',
      password: decodeURIComponent(url.password) || undefined,
      database: url.pathname.slice(1) || 'postgres',
    });
    expect(user).toBe(decodeURIComponent(url.username) || 'postgres');
  });

  it('uses an existing pool and leaves it open on close', async () => {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    try {
      expect(await currentUser({ pool })).toBeTypeOf('string');
      expect((await pool.query('select 1 as one')).rows[0].one).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it.each([
    ['a number', 5432, /got number 5432/],
    ['an empty string', '', /got an empty string/],
    ['a blank string', '   ', /got an empty string/],
    ['null', null, /got null/],
    ['undefined', undefined, /got undefined/],
    ['an array', [databaseUrl], /got an array/],
    ['an empty object', {}, /got an object with no properties/],
    [
      'options without a connection',
      { max: 4, applicationName: 'x' },
      /got an object with max, applicationName/,
    ],
    ['an unset connectionString', { connectionString: undefined }, /DATABASE_URL, set\?/],
    [
      'an empty connectionString',
      { connectionString: '' },
      /connectionString must be a 'postgres:\/\/…' URL; got an empty string/,
    ],
    ['a non-string connectionString', { connectionString: 5432 }, /got number 5432/],
  ])('refuses %s with a ConfigError naming what to pass', (_label, input, detail) => {
    let thrown: unknown;
    try {
      createPgDatabase(input as PgDatabaseOptions);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const message = (thrown as Error).message;
    expect(message).toMatch(detail);
    expect(message).toContain('postgres://');
    expect(message).toMatch(/connectionString/);
  });
});

/**
 * One suite, every Database driver, a real Postgres: the drivers must be interchangeable.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DatabaseError } from '../src/core/database.ts';
import { driverCases, type DriverHandle } from './support/drivers.ts';
import { uniqueSchemaName } from './support/test-schema.ts';

describe.each(driverCases)('Database driver $name', (driver) => {
  const schema = uniqueSchemaName(`conf_${driver.name.replace('-', '')}`);
  let handle: DriverHandle;

  beforeAll(async () => {
    handle = await driver.open(inject('databaseUrl'));
    await handle.db.query(`create schema ${schema}`);
    await handle.db.query(`create table ${schema}.items (id int primary key, label text unique, data jsonb)`);
  });
  afterAll(async () => {
    await handle.db.query(`drop schema if exists ${schema} cascade`);
    await handle.close();
  });

  it('returns Postgres types as the core expects them', async () => {
    const { rows } = await handle.db.query(
      `select 42::int4 as i, 9007199254740993::int8 as big, 1.5::numeric as num, 2.25::float8 as f,
              true as b, 'héllo'::text as t, '2026-01-02T03:04:05.678Z'::timestamptz as ts,
              '{"a":[1,{"b":null}]}'::jsonb as j, array['x','y']::text[] as arr, null::text as nothing`,
    );
    const row = rows[0]!;
    expect(row).toMatchObject({ i: 42, big: '9007199254740993', num: '1.5', f: 2.25, b: true, t: 'héllo' });
    expect(row.ts).toBeInstanceOf(Date);
    expect((row.ts as Date).toISOString()).toBe('2026-01-02T03:04:05.678Z');
    expect(row.j).toEqual({ a: [1, { b: null }] });
    expect(row.arr).toEqual(['x', 'y']);
    expect(row.nothing).toBeNull();
  });

  it('binds parameters sent as text, null and numbers', async () => {
    const { rows } = await handle.db.query(
      `select $1::text as a, $2::int as b, $3::text as c, $4::jsonb as d`,
      ["it's", 7, null, JSON.stringify({ k: 'v' })],
    );
    expect(rows[0]).toEqual({ a: "it's", b: 7, c: null, d: { k: 'v' } });
  });

  it('reports affected rows', async () => {
    const insert = await handle.db.query(
      `insert into ${schema}.items (id, label) values (1, 'one'), (2, 'two')`,
    );
    expect(insert.rowCount).toBe(2);
    const update = await handle.db.query(`update ${schema}.items set data = '{}' where id = $1`, [1]);
    expect(update.rowCount).toBe(1);
    const none = await handle.db.query(`update ${schema}.items set data = '{}' where id = $1`, [999]);
    expect(none.rowCount).toBe(0);
  });

  it('commits a transaction as a whole and returns each result', async () => {
    const results = await handle.db.transaction([
      { text: `insert into ${schema}.items (id, label) values ($1, $2)`, params: [10, 'ten'] },
      { text: `select count(*)::int as n from ${schema}.items where id = $1`, params: [10] },
    ]);
    expect(results).toHaveLength(2);
    expect(results[1]!.rows[0]).toEqual({ n: 1 });
  });

  it('rolls a transaction back entirely on the first error', async () => {
    await expect(
      handle.db.transaction([
        { text: `insert into ${schema}.items (id, label) values ($1, $2)`, params: [20, 'twenty'] },
        { text: `insert into ${schema}.items (id, label) values ($1, $2)`, params: [21, 'one'] },
      ]),
    ).rejects.toBeInstanceOf(DatabaseError);
    const { rows } = await handle.db.query(`select id from ${schema}.items where id in (20, 21)`);
    expect(rows).toEqual([]);
  });

  it('surfaces Postgres error fields as DatabaseError', async () => {
    const error = await handle.db
      .query(`insert into ${schema}.items (id, label) values (30, 'one')`)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).toMatchObject({
      code: '23505',
      constraint: 'items_label_key',
      table: 'items',
      schema,
    });
    expect((error as DatabaseError).detail).toContain('(label)=(one)');
  });

  it('refuses more than one statement per query, as Neon does', async () => {
    const error = await handle.db.query('select 1; select 2').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: '42601' });
  });

  it('keeps concurrent queries apart', async () => {
    const values = Array.from({ length: 20 }, (_, i) => i);
    const results = await Promise.all(values.map((v) => handle.db.query('select $1::int as v', [v])));
    expect(results.map((r) => r.rows[0]!.v)).toEqual(values);
  });
});

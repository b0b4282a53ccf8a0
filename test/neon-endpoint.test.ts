/**
 * The local Neon SQL-over-HTTP endpoint, exercised with the real `neon()` client from
 * `@neondatabase/serverless` against the real Postgres of the test run.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { neon, neonConfig, NeonDbError } from '@neondatabase/serverless';
import type { NeonQueryFunction } from '@neondatabase/serverless';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createNeonHttpDatabase } from '../src/adapters/edge/neon-http-database.ts';
import { ConfigError } from '../src/core/errors.ts';
import { startNeonEndpoint } from '../worker/dev/neon-endpoint.ts';
import type { NeonEndpoint } from '../worker/dev/neon-endpoint.ts';

const databaseUrl = inject('databaseUrl');
const schema = `neon_ep_${randomBytes(6).toString('hex')}`;
const items = `${schema}.items`;
const authToken = `neon-ep-token-${randomBytes(8).toString('hex')}`;
const bearer = { authorization: `Bearer ${authToken}` };

let endpoint: NeonEndpoint;
let sql: NeonQueryFunction<false, false>;

beforeAll(async () => {
  endpoint = await startNeonEndpoint({ authToken });
  neonConfig.fetchEndpoint = endpoint.url;
  sql = neon(databaseUrl, { authToken });
  await sql.query(`create schema ${schema}`);
  await sql.query(
    `create table ${items} (id int4 primary key, name text constraint items_name_key unique, data bytea)`,
  );
});

afterAll(async () => {
  await sql?.query(`drop schema if exists ${schema} cascade`);
  await endpoint?.close();
});

/** The rejection of `promise`, which must be a NeonDbError. */
async function neonError(promise: Promise<unknown>): Promise<NeonDbError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(NeonDbError);
  return error as NeonDbError;
}

/** A request the way the client sends it, for what the client cannot be made to send. */
async function post(body: string, headers: Record<string, string> = {}): Promise<Response> {
  return await fetch(endpoint.url, {
    method: 'POST',
    body,
    headers: { 'Neon-Connection-String': databaseUrl, ...bearer, ...headers },
  });
}

describe('types', () => {
  it('round-trips the common types as the client parses them', async () => {
    const [row] = await sql.query(
      `select 42::int4 as i4, 9007199254740993::int8 as i8, 12345.678901234567890123::numeric as num,
              1.5::float8 as f8, true as yes, false as no, 'héllo ✓'::text as t,
              '2024-05-06T07:08:09.123+02:00'::timestamptz as ts, '2024-02-29'::date as d,
              '{"a":1,"b":[true,null,"x"]}'::jsonb as jo, '[1,"two",{"three":3}]'::jsonb as ja,
              array['a','b,c',null,'"q"']::text[] as ta, array[1,2,3]::int4[] as ia,
              '\\x00ff10'::bytea as bytes, null::text as nothing, null::int4 as no_int`,
    );
    expect(row).toBeDefined();
    const r = row as Record<string, unknown>;
    expect(r.i4).toBe(42);
    expect(r.i8).toBe('9007199254740993');
    expect(r.num).toBe('12345.678901234567890123');
    expect(r.f8).toBe(1.5);
    expect(r.yes).toBe(true);
    expect(r.no).toBe(false);
    expect(r.t).toBe('héllo ✓');
    expect(r.ts).toBeInstanceOf(Date);
    expect((r.ts as Date).toISOString()).toBe('2024-05-06T05:08:09.123Z');
    // The client parses a date as local midnight.
    expect(r.d).toBeInstanceOf(Date);
    const d = r.d as Date;
    expect([d.getFullYear(), d.getMonth() + 1, d.getDate()]).toEqual([2024, 2, 29]);
    expect(r.jo).toEqual({ a: 1, b: [true, null, 'x'] });
    expect(r.ja).toEqual([1, 'two', { three: 3 }]);
    expect(r.ta).toEqual(['a', 'b,c', null, '"q"']);
    expect(r.ia).toEqual([1, 2, 3]);
    expect(r.bytes).toBeInstanceOf(Uint8Array);
    expect([...(r.bytes as Uint8Array)]).toEqual([0x00, 0xff, 0x10]);
    expect(r.nothing).toBeNull();
    expect(r.no_int).toBeNull();
  });

  it('passes string, null, number, JSON, array, Date and bytes parameters', async () => {
    const when = new Date('2024-01-02T03:04:05.678Z');
    const rows = await sql`
      select ${'a\'b"c'}::text as s, ${null}::text as n, ${41}::int4 + 1 as num,
             ${{ k: [1, 'x'] }}::jsonb as j, ${[1, 2, 3]}::int4[] as arr,
             ${when}::timestamptz as ts, encode(${Buffer.from([1, 2, 254])}::bytea, 'hex') as hex`;
    expect(rows).toEqual([
      { s: 'a\'b"c', n: null, num: 42, j: { k: [1, 'x'] }, arr: [1, 2, 3], ts: when, hex: '0102fe' },
    ]);
  });

  it('stores and reads back rows through a table', async () => {
    await sql.query(`insert into ${items} (id, name, data) values ($1, $2, $3), ($4, $5, $6)`, [
      1,
      'one',
      Buffer.from('hi'),
      2,
      null,
      null,
    ]);
    const rows = await sql.query(`select id, name, data from ${items} where id in (1, 2) order by id`);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ id: 1, name: 'one' });
    expect(Buffer.from(rows[0]?.data as Uint8Array).toString()).toBe('hi');
    expect(rows[1]).toEqual({ id: 2, name: null, data: null });
  });

  it('answers with fields, command and rowCount under fullResults', async () => {
    const selected = await sql.query('select 7::int4 as a, $1::text as b, 2::int8 as c', ['x'], {
      fullResults: true,
    });
    expect(selected.command).toBe('SELECT');
    expect(selected.rowCount).toBe(1);
    expect(selected.fields.map((field) => [field.name, field.dataTypeID])).toEqual([
      ['a', 23],
      ['b', 25],
      ['c', 20],
    ]);
    expect(selected.rows).toEqual([{ a: 7, b: 'x', c: '2' }]);

    const inserted = await sql.query(`insert into ${items} (id) values (10), (11)`, [], {
      fullResults: true,
    });
    expect(inserted.command).toBe('INSERT');
    expect(inserted.rowCount).toBe(2);
    expect(inserted.fields).toEqual([]);

    const deleted = await sql.query(`delete from ${items} where id >= 10`, [], { fullResults: true });
    expect(deleted.command).toBe('DELETE');
    expect(deleted.rowCount).toBe(2);

    const created = await sql.query(`create table ${schema}.scratch (x int)`, [], { fullResults: true });
    expect(created.command).toBe('CREATE');
    expect(created.rowCount).toBeNull();
  });

  it('answers in the exact JSON shape Neon uses', async () => {
    const response = await post(
      JSON.stringify({ query: 'select 42::int4 as n, null::text as z', params: [] }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({
      fields: [
        {
          name: 'n',
          dataTypeID: 23,
          tableID: 0,
          columnID: 0,
          dataTypeSize: 4,
          dataTypeModifier: -1,
          format: 'text',
        },
        {
          name: 'z',
          dataTypeID: 25,
          tableID: 0,
          columnID: 0,
          dataTypeSize: -1,
          dataTypeModifier: -1,
          format: 'text',
        },
      ],
      command: 'SELECT',
      rowCount: 1,
      rowAsArray: true,
      rows: [['42', null]],
    });
  });
});

describe('transactions', () => {
  it('commits every statement and answers each result', async () => {
    const [first, second, count] = await sql.transaction([
      sql`insert into ${sql.unsafe(items)} (id, name) values (20, 'twenty') returning id`,
      sql`insert into ${sql.unsafe(items)} (id, name) values (21, 'twenty-one') returning name`,
      sql`select count(*)::int4 as n from ${sql.unsafe(items)} where id in (20, 21)`,
    ]);
    expect(first).toEqual([{ id: 20 }]);
    expect(second).toEqual([{ name: 'twenty-one' }]);
    expect(count).toEqual([{ n: 2 }]);
    expect(await sql.query(`select id from ${items} where id in (20, 21) order by id`)).toEqual([
      { id: 20 },
      { id: 21 },
    ]);
  });

  it('rolls back the earlier statements when a later one fails', async () => {
    const error = await neonError(
      sql.transaction([
        sql.query(`insert into ${items} (id, name) values (30, 'thirty')`),
        sql.query(`insert into ${items} (id, name) values (31, 'twenty')`),
      ]),
    );
    expect(error.code).toBe('23505');
    expect(await sql.query(`select id from ${items} where id in (30, 31)`)).toEqual([]);
  });

  it.each([
    ['ReadUncommitted', 'read uncommitted'],
    ['ReadCommitted', 'read committed'],
    ['RepeatableRead', 'repeatable read'],
    ['Serializable', 'serializable'],
  ] as const)('opens the transaction with isolation level %s', async (isolationLevel, expected) => {
    const [rows] = await sql.transaction([sql`select current_setting('transaction_isolation') as level`], {
      isolationLevel,
    });
    expect(rows).toEqual([{ level: expected }]);
  });

  it('opens read-only deferrable transactions when asked, read-write otherwise', async () => {
    const setting = sql`select current_setting('transaction_read_only') as ro,
                               current_setting('transaction_deferrable') as deferrable`;
    const [asked] = await sql.transaction([setting], {
      isolationLevel: 'Serializable',
      readOnly: true,
      deferrable: true,
    });
    expect(asked).toEqual([{ ro: 'on', deferrable: 'on' }]);
    const [plain] = await sql.transaction([setting], { readOnly: false, deferrable: false });
    expect(plain).toEqual([{ ro: 'off', deferrable: 'off' }]);
  });

  it('refuses writes in a read-only transaction with 25006', async () => {
    const error = await neonError(
      sql.transaction([sql.query(`insert into ${items} (id) values (40)`)], { readOnly: true }),
    );
    expect(error.code).toBe('25006');
    expect(await sql.query(`select id from ${items} where id = 40`)).toEqual([]);
  });

  it('answers a raw batch as {results} and rejects an unknown isolation level', async () => {
    const ok = await post(
      JSON.stringify({
        queries: [
          { query: 'select $1::text as a', params: ['x'] },
          { query: 'select 2::int4 as b', params: [] },
        ],
      }),
    );
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { results: Array<{ rows: unknown[] }> };
    expect(body.results.map((result) => result.rows)).toEqual([[['x']], [['2']]]);

    const bad = await post(JSON.stringify({ queries: [] }), { 'Neon-Batch-Isolation-Level': 'Chaos' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      code: '',
      severity: '',
      message: expect.stringContaining('Chaos'),
    });
  });
});

describe('errors', () => {
  it('reports a unique violation with its code, constraint and detail', async () => {
    await sql.query(`insert into ${items} (id, name) values (50, 'fifty')`);
    const error = await neonError(sql.query(`insert into ${items} (id, name) values (51, 'fifty')`));
    expect(error.message).toBe('duplicate key value violates unique constraint "items_name_key"');
    expect(error.code).toBe('23505');
    expect(error.severity).toBe('ERROR');
    expect(error.constraint).toBe('items_name_key');
    expect(error.detail).toBe('Key (name)=(fifty) already exists.');
    expect(error.table).toBe('items');
    expect(error.schema).toBe(schema);
    expect(error.hint).toBeUndefined();
  });

  it('reports where a syntax error is', async () => {
    const text = 'select 1 frm dual';
    const error = await neonError(sql.query(text));
    expect(error.code).toBe('42601');
    expect(error.message).toBe('syntax error at or near "dual"');
    expect(error.position).toBe(String(text.indexOf('dual') + 1));
  });

  it('reports an unknown table as 42P01', async () => {
    const error = await neonError(sql.query(`select * from ${schema}.missing`));
    expect(error.code).toBe('42P01');
    expect(error.message).toBe(`relation "${schema}.missing" does not exist`);
  });

  it('refuses several statements in one query, as Neon does', async () => {
    const error = await neonError(sql.query('select 1; select 2'));
    expect(error.code).toBe('42601');
    expect(error.message).toBe('cannot insert multiple commands into a prepared statement');
  });

  it('reports an unreachable database as a non-Postgres error', async () => {
    const error = await neonError(
      neon('postgresql://nobody:secret@127.0.0.1:1/nothing', { authToken }).query('select 1'),
    );
    expect(error.code).toBe('');
    expect(error.severity).toBe('');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('answers 400 without a connection string and for a malformed body', async () => {
    const missing = await fetch(endpoint.url, {
      method: 'POST',
      body: '{"query":"select 1","params":[]}',
      headers: bearer,
    });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({
      code: '',
      severity: '',
      detail: null,
      message: expect.stringContaining('connection string'),
    });

    const notJson = await post('{"query": ');
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ code: '', message: expect.stringContaining('JSON') });

    const noQuery = await post('{"params": []}');
    expect(noQuery.status).toBe(400);
    expect(await noQuery.json()).toMatchObject({ code: '', message: expect.stringContaining('query') });
  });

  it('answers 405 to anything but POST', async () => {
    const response = await fetch(endpoint.url, {
      headers: { 'Neon-Connection-String': databaseUrl, ...bearer },
    });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });

  it('answers 507 to a request over 10 MiB, which the client reports as a server error', async () => {
    const big = 'x'.repeat(10 * 1024 * 1024 + 1);
    const raw = await post(JSON.stringify({ query: 'select $1::text', params: [big] }));
    expect(raw.status).toBe(507);
    expect(await raw.text()).toContain('too large');

    const error = await neonError(sql.query('select length($1::text)', [big]));
    expect(error.message).toMatch(/^Server error \(HTTP status 507\): /);
    expect(error.code).toBeUndefined();

    // The endpoint still serves afterwards.
    expect(await sql.query('select length($1::text)::int4 as n', ['abc'])).toEqual([{ n: 3 }]);
  });

  it('answers 507 to a response over 10 MiB', async () => {
    const error = await neonError(sql.query(`select repeat('x', 10 * 1024 * 1024 + 1) as big`));
    expect(error.message).toMatch(/^Server error \(HTTP status 507\): response is too large/);
  });
});

/** One request with any Host header (fetch always sends the URL's own). */
async function rawRequest(
  port: number,
  options: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return await new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port, path: '/sql', method: options.method ?? 'POST', headers: options.headers },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

describe('access control', () => {
  const marks = `${schema}.marks`;
  const insertMark = (note: string) =>
    JSON.stringify({ query: `insert into ${marks} (note) values ($1)`, params: [note] });
  /** How many rows a request meant to insert: the proof that a refused request ran nothing. */
  const marked = async (note: string): Promise<number> => {
    const [row] = await sql.query(`select count(*)::int4 as n from ${marks} where note = $1`, [note]);
    return (row as { n: number }).n;
  };
  const corsHeaders = (headers: Headers | Record<string, unknown>) => {
    const names = headers instanceof Headers ? [...headers.keys()] : Object.keys(headers);
    return names.filter((name) => name.toLowerCase().startsWith('access-control-'));
  };

  beforeAll(async () => {
    await sql.query(`create table ${marks} (note text)`);
  });

  it('will not start without an authToken, and exposes the one it has', async () => {
    await expect(startNeonEndpoint({} as never)).rejects.toThrow(ConfigError);
    await expect(startNeonEndpoint({ authToken: '' })).rejects.toThrow(ConfigError);
    expect(endpoint.authToken).toBe(authToken);
  });

  it('answers 401 to the real driver without the token or with a wrong one, and runs nothing', async () => {
    const anonymous = await neonError(neon(databaseUrl).query(`insert into ${marks} values ('anonymous')`));
    expect(anonymous.message).toMatch(/^Server error \(HTTP status 401\): /);
    const wrong = await neonError(
      neon(databaseUrl, { authToken: `${authToken}x` }).query(`insert into ${marks} values ('wrong')`),
    );
    expect(wrong.message).toMatch(/^Server error \(HTTP status 401\): /);
    const wrongFunction = neon(databaseUrl, { authToken: async () => 'not-the-token' });
    const batch = await neonError(
      wrongFunction.transaction([wrongFunction`insert into ${wrongFunction.unsafe(marks)} values ('batch')`]),
    );
    expect(batch.message).toMatch(/^Server error \(HTTP status 401\): /);
    expect([await marked('anonymous'), await marked('wrong'), await marked('batch')]).toEqual([0, 0, 0]);
  });

  it('answers 401 in Neon’s error shape to a raw request without the exact bearer token', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: '' },
      { authorization: 'Bearer' },
      { authorization: `Bearer ${authToken}x` },
      { authorization: `Basic ${Buffer.from(`user:${authToken}`).toString('base64')}` },
      { authorization: authToken },
    ];
    for (const headers of attempts) {
      const response = await fetch(endpoint.url, {
        method: 'POST',
        body: insertMark('raw'),
        headers: { 'Neon-Connection-String': databaseUrl, ...headers },
      });
      expect({ headers, status: response.status }).toEqual({ headers, status: 401 });
      expect(await response.json()).toMatchObject({
        code: '',
        severity: '',
        detail: null,
        message: expect.stringMatching(/token/i),
      });
    }
    expect(await marked('raw')).toBe(0);
  });

  it('runs queries and transactions with the right token, also given as a function or to the driver', async () => {
    const byFunction = neon(databaseUrl, { authToken: () => authToken });
    await byFunction.query(`insert into ${marks} values ('function')`);
    await byFunction.transaction([byFunction`insert into ${byFunction.unsafe(marks)} values ('function')`]);
    expect(await marked('function')).toBe(2);

    const db = createNeonHttpDatabase({
      connectionString: databaseUrl,
      fetchEndpoint: endpoint.url,
      authToken,
    });
    await db.query(`insert into ${marks} values ($1)`, ['driver']);
    await db.transaction([{ text: `insert into ${marks} values ($1)`, params: ['driver'] }]);
    expect(await marked('driver')).toBe(2);
    const lazy = createNeonHttpDatabase({
      connectionString: databaseUrl,
      fetchEndpoint: endpoint.url,
      authToken: async () => authToken,
    });
    expect((await lazy.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  it('refuses a cross-site simple POST (text/plain, foreign Origin) without running it, token or not', async () => {
    const crossSite: Record<string, string>[] = [
      { origin: 'http://evil.example' },
      { origin: 'http://evil.example', ...bearer },
      { origin: 'null', ...bearer },
      { 'sec-fetch-site': 'cross-site', ...bearer },
      { 'sec-fetch-site': 'same-site', ...bearer },
    ];
    for (const headers of crossSite) {
      const response = await fetch(endpoint.url, {
        method: 'POST',
        body: insertMark('cross-site'),
        headers: {
          'content-type': 'text/plain;charset=UTF-8',
          'neon-connection-string': databaseUrl,
          ...headers,
        },
      });
      expect({ headers, status: response.status }).toEqual({ headers, status: 403 });
      expect(corsHeaders(response.headers)).toEqual([]);
      expect(await response.json()).toMatchObject({
        code: '',
        message: expect.stringMatching(/origin|site/i),
      });
    }
    expect(await marked('cross-site')).toBe(0);
  });

  it('refuses a CORS preflight from an origin not allowed, with no CORS headers', async () => {
    const response = await fetch(endpoint.url, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,neon-connection-string',
      },
    });
    expect(response.status).toBe(403);
    expect(corsHeaders(response.headers)).toEqual([]);
  });

  it('refuses a Host that is not a loopback name (DNS rebinding)', async () => {
    const port = endpoint.port;
    const refused = [
      `evil.example:${port}`,
      'evil.example',
      `127.0.0.1.nip.io:${port}`,
      `localhost.evil.example:${port}`,
      `192.168.1.10:${port}`,
      `[::2]:${port}`,
      `user@127.0.0.1:${port}`,
      `127.0.0.1:${port}/sql`,
    ];
    for (const host of refused) {
      const response = await rawRequest(port, {
        headers: { host, 'neon-connection-string': databaseUrl, ...bearer },
        body: insertMark('rebound'),
      });
      expect({ host, status: response.status }).toEqual({ host, status: 421 });
      expect(JSON.parse(response.body)).toMatchObject({ code: '', message: expect.stringContaining('Host') });
    }
    expect(await marked('rebound')).toBe(0);

    const loopback = [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `LocalHost:${port}`,
      `app.localhost:${port}`,
      `127.8.9.10:${port}`,
      `[::1]:${port}`,
      // A local relay or proxy in front, on a port of its own.
      `localhost:${port + 1}`,
      '127.0.0.1',
    ];
    for (const host of loopback) {
      const response = await rawRequest(port, {
        headers: { host, 'neon-connection-string': databaseUrl, ...bearer },
        body: insertMark('loopback'),
      });
      expect({ host, status: response.status }).toEqual({ host, status: 200 });
    }
    expect(await marked('loopback')).toBe(loopback.length);
  });

  it('accepts the hosts listed in allowedHosts (for a LAN), and no others', async () => {
    const lan = await startNeonEndpoint({
      authToken,
      databaseUrl,
      allowedHosts: ['devbox.lan', '192.168.1.10:8080'],
    });
    try {
      const status = async (host: string) =>
        (
          await rawRequest(lan.port, {
            headers: { host, ...bearer },
            body: '{"query":"select 1","params":[]}',
          })
        ).status;
      expect(await status(`devbox.lan:${lan.port}`)).toBe(200);
      expect(await status(`DEVBOX.LAN:${lan.port}`)).toBe(200);
      expect(await status('192.168.1.10:8080')).toBe(200);
      expect(await status(`localhost:${lan.port}`)).toBe(200);
      expect(await status(`192.168.1.10:${lan.port}`)).toBe(421);
      expect(await status(`evil.example:${lan.port}`)).toBe(421);
    } finally {
      await lan.close();
    }
    await expect(startNeonEndpoint({ authToken, allowedHosts: ['http://devbox.lan/'] })).rejects.toThrow(
      ConfigError,
    );
  });

  it('serves an origin listed in allowedOrigins, preflight included, still only with the token', async () => {
    const origin = 'http://localhost:3000';
    const cors = await startNeonEndpoint({ authToken, databaseUrl, allowedOrigins: [origin] });
    try {
      const preflight = await fetch(cors.url, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,neon-connection-string,neon-array-mode',
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
      expect(preflight.headers.get('access-control-allow-methods')).toBe('POST');
      expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
      expect(preflight.headers.get('vary')).toContain('Origin');

      const send = (headers: Record<string, string>) =>
        fetch(cors.url, {
          method: 'POST',
          body: insertMark('allowed-origin'),
          headers: { 'sec-fetch-site': 'same-site', 'content-type': 'text/plain', ...headers },
        });
      const allowed = await send({ origin, ...bearer });
      expect(allowed.status).toBe(200);
      expect(allowed.headers.get('access-control-allow-origin')).toBe(origin);
      expect((await send({ origin })).status).toBe(401);
      expect((await send({ origin: 'http://localhost:3001', ...bearer })).status).toBe(403);
      expect(await marked('allowed-origin')).toBe(1);
    } finally {
      await cors.close();
    }
    for (const allowedOrigins of [['http://localhost:3000/app'], ['null'], ['*'], ['localhost:3000']]) {
      await expect(startNeonEndpoint({ authToken, allowedOrigins })).rejects.toThrow(ConfigError);
    }
  });

  it('runs every statement as the databaseUrl role, so a least-privilege role cannot COPY TO PROGRAM', async () => {
    const role = `neon_ep_${randomBytes(4).toString('hex')}`;
    // A password, for the embedded Postgres of a run without TEST_DATABASE_URL (password auth).
    const password = randomBytes(8).toString('hex');
    await sql.query(`create role ${role} login nosuperuser password '${password}'`);
    const roleUrl = new URL(databaseUrl);
    roleUrl.username = role;
    roleUrl.password = password;
    const restricted = await startNeonEndpoint({ authToken, databaseUrl: roleUrl.href });
    neonConfig.fetchEndpoint = restricted.url;
    try {
      // The client names the superuser of the test database; the endpoint ignores it.
      const client = neon(databaseUrl, { authToken });
      expect(
        await client.query(
          'select current_user as who, (select rolsuper from pg_roles where rolname = current_user) as su',
        ),
      ).toEqual([{ who: role, su: false }]);
      const error = await neonError(client.query(`copy (select 1) to program 'true'`));
      expect(error.code).toBe('42501');
    } finally {
      neonConfig.fetchEndpoint = endpoint.url;
      await restricted.close();
      await sql.query(`drop role ${role}`);
    }
  });
});

describe('options and lifecycle', () => {
  it('uses databaseUrl instead of the connection string the client sends', async () => {
    const other = await startNeonEndpoint({ databaseUrl, maxPoolSize: 2, authToken });
    try {
      const response = await fetch(other.url, {
        method: 'POST',
        body: JSON.stringify({ query: 'select current_database()', params: [] }),
        headers: {
          'Neon-Connection-String':
            'postgresql://alex:secret@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require',
          ...bearer,
        },
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { rows: string[][] };
      expect(body.rows).toEqual([[new URL(databaseUrl).pathname.slice(1)]]);
      // Without any header at all, too.
      const bare = await fetch(other.url, {
        method: 'POST',
        body: '{"query":"select 1","params":[]}',
        headers: bearer,
      });
      expect(bare.status).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('close() ends half-sent requests and every pooled connection', async () => {
    const other = await startNeonEndpoint({ authToken });
    const applicationName = `neon_ep_close_${randomBytes(4).toString('hex')}`;
    const tagged = new URL(databaseUrl);
    tagged.searchParams.set('application_name', applicationName);
    const connectionsOf = async (): Promise<number> => {
      const [row] = await sql.query(
        'select count(*)::int4 as n from pg_stat_activity where application_name = $1',
        [applicationName],
      );
      return (row as { n: number }).n;
    };

    neonConfig.fetchEndpoint = other.url;
    try {
      expect(await neon(tagged.href, { authToken }).query('select 1 as one')).toEqual([{ one: 1 }]);
    } finally {
      neonConfig.fetchEndpoint = endpoint.url;
    }
    expect(await connectionsOf()).toBe(1);

    // A request whose headers never finish would hold server.close() for minutes.
    const socket = connect(other.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write('POST /sql HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const socketClosed = new Promise<string>((resolve) => socket.once('close', () => resolve('closed')));
    socket.on('error', () => undefined);

    const outcome = await Promise.race([
      other.close().then(() => 'closed'),
      new Promise<string>((resolve) => setTimeout(() => resolve('still open after 5s'), 5000)),
    ]);
    expect(outcome).toBe('closed');
    expect(await socketClosed).toBe('closed');

    // The backend may take a moment to leave pg_stat_activity after its socket closed.
    let remaining = await connectionsOf();
    for (let i = 0; i < 50 && remaining > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      remaining = await connectionsOf();
    }
    expect(remaining).toBe(0);
    await expect(fetch(other.url, { method: 'POST', body: '{}' })).rejects.toThrow();
  });
});

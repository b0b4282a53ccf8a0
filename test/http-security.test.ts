/**
 * What an app without a token (`apiToken: false`, local development) refuses, through
 * `app.request()`: writes from another origin (a page the developer merely visits), writes that
 * are not JSON (the simple requests a page can send without asking), and requests for a host
 * name that is not loopback (DNS rebinding). And what an app with a token does not need to.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { createApp } from '../src/http/index.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('http_security');
const TOKEN = 'security-token-3f9d';

let open: Hono;
beforeAll(() => {
  open = createApp({ database: t.db, schema: t.schema, apiToken: false, onError: () => undefined });
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function send(app: Hono, url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await app.request(url, init);
  return { status: response.status, headers: response.headers, text: await response.text() };
}

function codeOf(answer: Answer): unknown {
  return (JSON.parse(answer.text) as { error: { code: string } }).error.code;
}

async function countNamed(name: string): Promise<number> {
  const { rows } = await t.db.query(`select count(*)::int as n from ${t.schema}.tasks where name = $1`, [
    name,
  ]);
  return rows[0]?.n as number;
}

async function pendingTask(name: string): Promise<string> {
  const created = await send(open, '/tasks', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  expect(created.status).toBe(201);
  return (JSON.parse(created.text) as { id: string }).id;
}

describe('without a token: writes from another origin', () => {
  it('refuses a cross-site text/plain post (a form or no-cors fetch) and writes no row', async () => {
    const answer = await send(open, '/tasks', {
      method: 'POST',
      headers: { Origin: 'http://evil.example', 'Content-Type': 'text/plain' },
      body: JSON.stringify({ name: 'app.tasks.csrf_plain' }),
    });
    expect(answer.status).toBe(403);
    expect(codeOf(answer)).toBe('FORBIDDEN_ORIGIN');
    expect(await countNamed('app.tasks.csrf_plain')).toBe(0);
  });

  it('refuses a foreign Origin even with a JSON body, and Sec-Fetch-Site: cross-site without Origin', async () => {
    const id = await pendingTask('app.tasks.csrf_cancel');
    const cases: Array<Record<string, string>> = [
      { Origin: 'http://evil.example', 'Content-Type': 'application/json' },
      { Origin: 'null', 'Content-Type': 'application/json' },
      // Same host, another port: another origin.
      { Origin: 'http://localhost:3000', 'Content-Type': 'application/json' },
      { 'Sec-Fetch-Site': 'cross-site', 'Content-Type': 'application/json' },
    ];
    for (const headers of cases) {
      const answer = await send(open, `/tasks/${id}/cancel`, { method: 'POST', headers });
      expect(answer.status, JSON.stringify(headers)).toBe(403);
      expect(codeOf(answer)).toBe('FORBIDDEN_ORIGIN');
    }
    const { rows } = await t.db.query(`select status from ${t.schema}.tasks where id = $1`, [id]);
    expect(rows[0]?.status).toBe('PENDING');
  });

  it('accepts its own origin and the origins in allowedOrigins', async () => {
    const allowed = createApp({
      database: t.db,
      schema: t.schema,
      apiToken: false,
      allowedOrigins: ['http://localhost:3000'],
    });
    for (const [app, origin, site] of [
      [open, 'http://localhost', 'same-origin'],
      [allowed, 'http://localhost:3000', 'same-site'],
    ] as const) {
      const answer = await send(app, '/tasks', {
        method: 'POST',
        headers: { Origin: origin, 'Sec-Fetch-Site': site, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'app.tasks.own_origin' }),
      });
      expect(answer.status, origin).toBe(201);
    }
    // A page of an allowed origin on another site (Sec-Fetch-Site: cross-site) is allowed too.
    const crossSite = await send(allowed, '/tasks', {
      method: 'POST',
      headers: {
        Origin: 'http://localhost:3000',
        'Sec-Fetch-Site': 'cross-site',
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({ name: 'app.tasks.own_origin' }),
    });
    expect(crossSite.status).toBe(201);
    expect(await countNamed('app.tasks.own_origin')).toBe(3);
  });
});

describe('without a token: writes that are not JSON', () => {
  it('answers 415 UNSUPPORTED_MEDIA_TYPE to a write without Content-Type: application/json', async () => {
    const id = await pendingTask('app.tasks.not_json');
    for (const [path, headers, body] of [
      ['/tasks', { 'Content-Type': 'text/plain' }, '{"name":"app.tasks.not_json"}'],
      ['/tasks', { 'Content-Type': 'application/x-www-form-urlencoded' }, 'name=app.tasks.not_json'],
      ['/tasks', { 'Content-Type': 'multipart/form-data; boundary=x' }, '--x--'],
      ['/tasks', { 'Content-Type': 'application/jsonx' }, '{"name":"app.tasks.not_json"}'],
      // A body without a type: fetch() labels a string body text/plain itself.
      ['/tasks', {}, '{"name":"app.tasks.not_json"}'],
      // No body at all: a no-cors fetch from any page can send this.
      [`/tasks/${id}/cancel`, {}, undefined],
    ] as const) {
      const answer = await send(open, path, { method: 'POST', headers, body });
      expect(answer.status, JSON.stringify(headers)).toBe(415);
      expect(codeOf(answer)).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    expect(await countNamed('app.tasks.not_json')).toBe(1);
  });

  it('accepts application/json with parameters, in any case', async () => {
    const answer = await send(open, '/tasks', {
      method: 'POST',
      headers: { 'Content-Type': 'Application/JSON; charset=utf-8' },
      body: JSON.stringify({ name: 'app.tasks.json_charset' }),
    });
    expect(answer.status).toBe(201);
  });

  it('leaves reads alone: GET with any Origin still answers', async () => {
    const answer = await send(open, '/stats', { headers: { Origin: 'http://evil.example' } });
    expect(answer.status).toBe(200);
  });
});

describe('without a token: the Host', () => {
  it('answers 421 MISDIRECTED_HOST for a name that is not loopback (DNS rebinding), reads included', async () => {
    for (const [url, host] of [
      ['http://rebind.example:4000/stats', undefined],
      ['/stats', 'rebind.example:4000'],
      ['/stats', '127.0.0.1.rebind.example'],
      ['/stats', 'localhost.rebind.example'],
      ['/stats', '10.0.0.5:4000'],
      ['/stats', '0.0.0.0:4000'],
      ['/stats', '[::ffff:a00:5]'],
      ['/dashboard', 'rebind.example'],
      ['/healthz', 'rebind.example'],
      ['/tasks', 'rebind.example'],
    ] as const) {
      const headers: Record<string, string> = host === undefined ? {} : { Host: host };
      const answer = await send(open, url, { headers });
      expect(answer.status, `${url} ${host}`).toBe(421);
      expect(codeOf(answer)).toBe('MISDIRECTED_HOST');
    }
    const post = await send(open, 'http://rebind.example/tasks', {
      method: 'POST',
      headers: { Origin: 'http://rebind.example', 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'app.tasks.rebound' }),
    });
    expect(post.status).toBe(421);
    expect(await countNamed('app.tasks.rebound')).toBe(0);
  });

  it('serves loopback names with any port', async () => {
    for (const host of [
      'localhost',
      'LOCALHOST:4000',
      'localhost.',
      'app.localhost:8080',
      '127.0.0.1',
      '127.0.0.1:4000',
      '127.42.0.9:1',
      '[::1]:4000',
      '[::1]',
    ]) {
      expect((await send(open, '/stats', { headers: { Host: host } })).status, host).toBe(200);
    }
  });

  it('serves the names in allowedHosts (".name" for a domain and its subdomains), or any with true', async () => {
    const lan = createApp({
      database: t.db,
      schema: t.schema,
      apiToken: false,
      allowedHosts: ['devbox', '.example.test'],
    });
    for (const host of ['devbox:4000', 'example.test', 'api.example.test', 'localhost']) {
      expect((await send(lan, '/stats', { headers: { Host: host } })).status, host).toBe(200);
    }
    for (const host of ['devbox.evil', 'badexample.test', 'rebind.example']) {
      expect((await send(lan, '/stats', { headers: { Host: host } })).status, host).toBe(421);
    }
    const any = createApp({ database: t.db, schema: t.schema, apiToken: false, allowedHosts: true });
    expect((await send(any, '/stats', { headers: { Host: 'rebind.example' } })).status).toBe(200);
  });
});

describe('the dashboard without a token', () => {
  it('keeps working for its own forms, and refuses Sec-Fetch-Site: cross-site posts', async () => {
    const id = await pendingTask('app.tasks.dashboard_open');
    const forged = await send(open, `/dashboard/tasks/${id}/cancel`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Sec-Fetch-Site': 'cross-site' },
      body: '',
    });
    expect(forged.status).toBe(403);
    const own = await send(open, `/dashboard/tasks/${id}/cancel`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Origin: 'http://localhost',
        'Sec-Fetch-Site': 'same-origin',
      },
      body: '',
    });
    expect(own.status).toBe(303);
    const { rows } = await t.db.query(`select status from ${t.schema}.tasks where id = $1`, [id]);
    expect(rows[0]?.status).toBe('CANCELLED');
  });
});

describe('with a token', () => {
  it('needs neither: a cross-site page cannot attach the bearer header, so text/plain and any Host pass', async () => {
    const app = createApp({ database: t.db, schema: t.schema, apiToken: TOKEN });
    const answer = await send(app, 'https://tasks.example/tasks', {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'text/plain' },
      body: JSON.stringify({ name: 'app.tasks.with_token' }),
    });
    expect(answer.status).toBe(201);
    // A cross-site simple post carries no bearer header: 401 as before.
    const forged = await send(app, '/tasks', {
      method: 'POST',
      headers: { Origin: 'http://evil.example', 'Content-Type': 'text/plain' },
      body: JSON.stringify({ name: 'app.tasks.with_token' }),
    });
    expect(forged.status).toBe(401);
    expect(await countNamed('app.tasks.with_token')).toBe(1);
  });
});

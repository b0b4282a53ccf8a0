/**
 * Dead letters over HTTP against a real Postgres, through `app.request()`: `POST /tasks/redrive`
 * and `GET /failures` (results, error codes, auth and the open app's write checks), and the
 * dashboard's failures page and its "Retry all matching" form (escaping, filters, the redirect
 * and its counts, the guard and the cross-origin refusal).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { createTaskClient, type TaskClient } from '../src/core/service/task-client.ts';
import { createMemoryNotifier } from '../src/adapters/edge/memory-notifier.ts';
import { parseTaskEvent, queueChannel, type TaskEvent } from '../src/core/events/task-events.ts';
import type { Notifier } from '../src/core/notifier.ts';
import { createApp } from '../src/http/index.ts';
import { createFailedTask } from './support/failed-task.ts';
import { useTestSchema } from './support/test-schema.ts';
import { waitFor } from './support/wait-for.ts';

const t = useTestSchema('http_redrive');
const TOKEN = 'redrive-token-41d2';

let notifier: Notifier;
let client: TaskClient;
let app: Hono;
let open: Hono;
let cookie: string;

beforeAll(async () => {
  notifier = createMemoryNotifier();
  client = createTaskClient({ database: t.db, schema: t.schema, notifier });
  app = createApp({ database: t.db, schema: t.schema, apiToken: TOKEN, client, onError: () => undefined });
  open = createApp({ database: t.db, schema: t.schema, apiToken: false, client, onError: () => undefined });
  cookie = await login();
});
afterAll(async () => {
  await notifier.close();
});
beforeEach(async () => {
  await t.db.query(`truncate ${t.schema}.tasks`);
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted on
  json: () => any;
}

async function request(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; on?: Hono } = {},
): Promise<Answer> {
  const response = await (init.on ?? app).request(path, {
    method: init.method ?? 'GET',
    headers: init.headers,
    body: init.body,
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    location: response.headers.get('Location'),
    json: () => JSON.parse(text),
  };
}

/** An API call with the bearer token and a JSON body. */
function api(method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<Answer> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  return request(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

/** A dashboard request with the session cookie; `form` makes it a form POST. */
function page(
  path: string,
  options: { form?: Record<string, string>; cookie?: string | null; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  const session = options.cookie === undefined ? cookie : options.cookie;
  if (session) headers.Cookie = session;
  if (!options.form) return request(path, { headers });
  headers['Content-Type'] = 'application/x-www-form-urlencoded';
  return request(path, { method: 'POST', headers, body: new URLSearchParams(options.form).toString() });
}

async function login(): Promise<string> {
  const answer = await page('/dashboard/login', { form: { token: TOKEN }, cookie: null });
  expect(answer.status).toBe(303);
  return (answer.headers.get('Set-Cookie') ?? '').split(';')[0] as string;
}

/** A FAILED task (see support/failed-task.ts). */
function failed(queue: string, errorType: string, error = 'boom', failedAgo = 60): Promise<string> {
  return createFailedTask(client, t.db, t.schema, { queue, errorType, error, failedAgo });
}

async function statusOf(id: string): Promise<string> {
  const { rows } = await t.db.query(`select status from ${t.schema}.tasks where id = $1`, [id]);
  return rows[0]?.status as string;
}

describe('POST /tasks/redrive', () => {
  it('retries the matching FAILED tasks, or only counts them with dryRun', async () => {
    const a = await failed('mail', 'TypeError');
    const b = await failed('mail', 'RangeError');
    const other = await failed('sms', 'TypeError');
    const dry = await api('POST', '/tasks/redrive', { queue: 'mail', dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.json()).toEqual({
      matched: 2,
      redriven: 0,
      skipped: 0,
      taskIds: [],
      skippedTaskIds: [],
      dryRun: true,
    });
    expect(await statusOf(a)).toBe('FAILED');

    const events: TaskEvent[] = [];
    const stop = await notifier.subscribe(queueChannel(t.schema, 'mail'), (message) => {
      const event = parseTaskEvent(message);
      if (event) events.push(event);
    });
    const done = await api('POST', '/tasks/redrive', { queue: 'mail', limit: 10 });
    expect(done.status).toBe(200);
    expect(done.json()).toMatchObject({ matched: 2, redriven: 2, skipped: 0, taskIds: [a, b].sort() });
    expect([await statusOf(a), await statusOf(b), await statusOf(other)]).toEqual([
      'PENDING',
      'PENDING',
      'FAILED',
    ]);
    await waitFor(() => events.length === 1, { what: 'the wake-up of the mail queue' });
    expect(events[0]).toMatchObject({ event: 'task_requeued', queue: 'mail' });
    await stop();

    const rest = await api('POST', '/tasks/redrive', {});
    expect(rest.json()).toMatchObject({ matched: 1, redriven: 1, taskIds: [other] });
  });

  it('answers bad bodies and filters with the API error shape', async () => {
    const cases: Array<[unknown, number, string, string?]> = [
      [[{ queue: 'mail' }], 400, 'INVALID_BODY', 'body'],
      [null, 400, 'INVALID_BODY', 'body'],
      [{ queue: '' }, 400, 'INVALID_QUEUE', 'queue'],
      [{ name: 'no spaces allowed' }, 400, 'INVALID_NAME', 'name'],
      [{ errorType: '' }, 400, 'INVALID_ERROR_TYPE', 'errorType'],
      [{ from: 'last tuesday' }, 400, 'INVALID_TIME_RANGE', 'from'],
      [{ from: 1_700_000_000_000 }, 400, 'INVALID_TIME_RANGE', 'from'],
      [{ limit: 0 }, 400, 'INVALID_LIMIT', 'limit'],
      [{ limit: '10' }, 400, 'INVALID_LIMIT', 'limit'],
      [{ dryRun: 'true' }, 400, 'INVALID_OPTIONS', 'dryRun'],
      [{ status: 'FAILED' }, 400, 'INVALID_OPTIONS', 'status'],
      [{ queue: 'a\u0000b' }, 400, 'NOT_JSON', 'queue'],
      [{ queue: 'x'.repeat(20_000) }, 413, 'PAYLOAD_TOO_LARGE', 'body'],
    ];
    for (const [body, status, code, field] of cases) {
      const answer = await api('POST', '/tasks/redrive', body);
      expect(answer.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(answer.json().error).toMatchObject({ code, ...(field ? { field } : {}) });
    }
    const broken = await request('/tasks/redrive', {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: '{"queue":',
    });
    expect(broken.json().error.code).toBe('INVALID_JSON');
    expect((await api('POST', '/tasks/redrive', {}, null)).status).toBe(401);
  });

  it('without a token, refuses cross-origin and non-JSON writes and changes nothing', async () => {
    const id = await failed('mail', 'TypeError');
    const crossSite = await request('/tasks/redrive', {
      on: open,
      method: 'POST',
      headers: { Origin: 'http://evil.example', 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(crossSite.status).toBe(403);
    const plain = await request('/tasks/redrive', {
      on: open,
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: '{}',
    });
    expect(plain.status).toBe(415);
    expect(await statusOf(id)).toBe('FAILED');
    const json = await request('/tasks/redrive', {
      on: open,
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(json.json()).toMatchObject({ redriven: 1 });
  });
});

describe('GET /failures', () => {
  it('groups FAILED tasks by error type, with the filters of the query string', async () => {
    await failed('mail', 'TypeError', 'first', 600);
    const newest = await failed('mail', 'TypeError', 'second', 30);
    await failed('sms', 'RangeError', 'range');
    const all = await api('GET', '/failures');
    expect(all.status).toBe(200);
    const [types, ranges] = all.json().reasons;
    expect(types).toMatchObject({
      errorType: 'TypeError',
      count: 2,
      sampleTaskId: newest,
      sampleError: 'second',
    });
    expect(Math.abs(Date.parse(types.lastSeenAt) - (Date.now() - 30_000))).toBeLessThan(5_000);
    expect(ranges).toMatchObject({ errorType: 'RangeError', count: 1 });
    const filtered = await api('GET', '/failures?queue=sms&name=&errorType=&limit=5');
    expect(filtered.json().reasons.map((r: { errorType: string }) => r.errorType)).toEqual(['RangeError']);
    const since = encodeURIComponent(new Date(Date.now() - 120_000).toISOString());
    const recent = await api('GET', `/failures?from=${since}`);
    expect(recent.json().reasons.map((r: { count: number }) => r.count)).toEqual([1, 1]);
  });

  it('answers bad filters with 400 and their code', async () => {
    for (const [query, code] of [
      ['limit=abc', 'INVALID_LIMIT'],
      ['limit=0', 'INVALID_LIMIT'],
      ['limit=101', 'INVALID_LIMIT'],
      ['from=soon', 'INVALID_TIME_RANGE'],
      ['from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z', 'INVALID_TIME_RANGE'],
      ['name=%00', 'INVALID_NAME'],
      [`queue=${'q'.repeat(101)}`, 'INVALID_QUEUE'],
      ['errorType=%00', 'INVALID_ERROR_TYPE'],
    ]) {
      const answer = await api('GET', `/failures?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.json().error.code, query).toBe(code);
    }
  });
});

describe('the failures page', () => {
  it('shows the groups escaped, the count, the filters and the retry form', async () => {
    await failed('mail', 'TypeError', '<script>alert(1)</script> & "quotes"');
    await failed('mail', 'Evil<img src=x>Error', 'odd type');
    await failed('sms', 'TypeError', 'other queue');
    const answer = await page('/dashboard/failures?queue=mail');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('Content-Security-Policy')).toContain("default-src 'none'");
    const html = answer.text;
    expect(html).toContain('<a href="/dashboard/failures">Failures</a>');
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;');
    expect(html).toContain('Evil&lt;img src=x&gt;Error');
    expect(html).toMatch(/<b>2<\/b> FAILED tasks match/);
    expect(html).toContain('href="/dashboard/failures?queue=mail&amp;errorType=TypeError"');
    expect(html).toContain('<form class="filters" method="post" action="/dashboard/failures/redrive">');
    expect(html).toContain('<input type="hidden" name="queue" value="mail" />');
    expect(html).toContain('Retry all matching (2)');
    expect(html).not.toContain('other queue');
  });

  it('says which filter is wrong, with 400', async () => {
    const answer = await page('/dashboard/failures?from=someday');
    expect(answer.status).toBe(400);
    expect(answer.text).toContain('from must be a valid Date or ISO 8601 string');
    expect(answer.text).not.toContain('Retry all matching');
  });

  it('offers no retry form when nothing matches', async () => {
    const answer = await page('/dashboard/failures');
    expect(answer.text).toContain('No FAILED tasks match.');
    expect(answer.text).not.toContain('/dashboard/failures/redrive');
  });

  it('retries all matching from the form and redirects back with the counts', async () => {
    const a = await failed('mail', 'TypeError', 'a', 30);
    const b = await failed('mail', 'TypeError', 'b', 30);
    const old = await failed('mail', 'TypeError', 'old', 7200);
    const other = await failed('mail', 'RangeError');
    // A time without an offset, as a person types it, is UTC.
    const from = new Date(Date.now() - 600_000).toISOString().slice(0, 16);
    const form = { queue: 'mail', errorType: 'TypeError', from, name: '', to: '', limit: '5' };
    const answer = await page('/dashboard/failures/redrive', { form });
    expect(answer.status).toBe(303);
    const location = answer.location ?? '';
    const params = new URL(location, 'http://x').searchParams;
    expect(location.startsWith('/dashboard/failures?')).toBe(true);
    expect(Object.fromEntries(params)).toEqual({
      queue: 'mail',
      errorType: 'TypeError',
      from,
      flash: 'redriven',
      redriven: '2',
      skipped: '0',
    });
    expect(await Promise.all([a, b, old, other].map(statusOf))).toEqual([
      'PENDING',
      'PENDING',
      'FAILED',
      'FAILED',
    ]);
    const after = await page(location);
    expect(after.text).toContain('2 tasks queued again.');
  });

  it('shows counts from the URL only as numbers, and nothing for a malformed flash', async () => {
    expect((await page('/dashboard/failures?flash=redriven&redriven=1&skipped=2')).text).toContain(
      '1 task queued again. 2 tasks skipped: another unfinished task holds their uniqueKey.',
    );
    for (const query of ['flash=redriven&redriven=<b>', 'flash=redriven&redriven=1e9', 'flash=other']) {
      expect((await page(`/dashboard/failures?${query}`)).text, query).not.toContain('class="flash');
    }
  });

  it('refuses a bad limit with a 400 page and changes nothing', async () => {
    const id = await failed('mail', 'TypeError');
    for (const limit of ['0', 'many', '100001']) {
      const answer = await page('/dashboard/failures/redrive', { form: { limit } });
      expect(answer.status, limit).toBe(400);
      expect(answer.text).toContain('limit must be an integer from 1 to 100000');
    }
    expect(await statusOf(id)).toBe('FAILED');
  });

  it('is guarded: no session, a foreign origin, and a big body change nothing', async () => {
    const id = await failed('mail', 'TypeError');
    const anonymous = await page('/dashboard/failures/redrive', { form: {}, cookie: null });
    expect(anonymous).toMatchObject({ status: 303, location: '/dashboard/login' });
    expect((await page('/dashboard/failures', { cookie: null })).location).toBe('/dashboard/login');
    const forged = await page('/dashboard/failures/redrive', {
      form: {},
      headers: { Origin: 'https://evil.example' },
    });
    expect(forged.status).toBe(403);
    const big = await page('/dashboard/failures/redrive', { form: { queue: 'x'.repeat(20_000) } });
    expect(big.status).toBe(413);
    expect(await statusOf(id)).toBe('FAILED');
  });
});

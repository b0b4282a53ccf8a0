/**
 * The dashboard under /dashboard against a real Postgres, through `app.request()`: the login
 * flow and its cookie, the guard, the overview's counts and paging, escaping on the task page,
 * cancel and retry through the forms, the cross-origin refusal, and the open dashboard.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { createTaskClient, type TaskClient } from '../src/core/service/task-client.ts';
import { dashboardSessionValue } from '../src/http/dashboard/dashboard-session.ts';
import { createApp } from '../src/http/index.ts';
import { createMemoryNotifier } from '../src/adapters/edge/memory-notifier.ts';
import { parseTaskEvent, taskChannel, type TaskEvent } from '../src/core/events/task-events.ts';
import type { Notifier } from '../src/core/notifier.ts';
import type { Task } from '../src/core/task.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('http_dashboard');
const TOKEN = 'dash-token-7c1e9a';
const UNKNOWN_ID = '0000000000000000000000';

let notifier: Notifier;
let client: TaskClient;
let app: Hono;
let cookie: string;

beforeAll(async () => {
  notifier = createMemoryNotifier();
  client = createTaskClient({ database: t.db, schema: t.schema, notifier });
  app = createApp({ database: t.db, schema: t.schema, apiToken: TOKEN, client });
  cookie = await login();
});
afterAll(async () => {
  await notifier.close();
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
}

interface SendOptions {
  method?: string;
  cookie?: string | null;
  form?: Record<string, string>;
  headers?: Record<string, string>;
  on?: Hono;
}

/** One request; the session cookie is sent unless `cookie: null`. */
async function send(path: string, options: SendOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  const sessionCookie = options.cookie === undefined ? cookie : options.cookie;
  if (sessionCookie) headers.Cookie = sessionCookie;
  let body: string | undefined;
  if (options.form) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  }
  const method = options.method ?? (options.form ? 'POST' : 'GET');
  const response = await (options.on ?? app).request(path, { method, headers, body });
  return {
    status: response.status,
    headers: response.headers,
    text: await response.text(),
    location: response.headers.get('Location'),
  };
}

/** Logs in with the form and returns the `Cookie` header the browser would send back. */
async function login(on: Hono = app, prefix = ''): Promise<string> {
  const answer = await send(`${prefix}/dashboard/login`, { form: { token: TOKEN }, cookie: null, on });
  expect(answer.status).toBe(303);
  const setCookie = answer.headers.get('Set-Cookie') ?? '';
  return setCookie.split(';')[0] as string;
}

function decodeEntities(text: string): string {
  return text
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'");
}

/** Task ids linked from a page, in page order. */
function linkedTaskIds(page: string): string[] {
  return [...page.matchAll(/href="\/dashboard\/tasks\/([A-Za-z0-9_-]{22})"/g)].map((m) => m[1] as string);
}

async function setRow(id: string, assignments: string): Promise<void> {
  await t.db.query(`update ${t.schema}.tasks set ${assignments} where id = $1`, [id]);
}

async function statusOf(id: string): Promise<string> {
  const { rows } = await t.db.query(`select status from ${t.schema}.tasks where id = $1`, [id]);
  return rows[0]?.status as string;
}

/** Collects the events published on one task's channel. */
async function listen(taskId: string): Promise<{ events: TaskEvent[]; stop: () => Promise<void> }> {
  const events: TaskEvent[] = [];
  const stop = await notifier.subscribe(taskChannel(t.schema, taskId), (message) => {
    const event = parseTaskEvent(message);
    if (event) events.push(event);
  });
  return { events, stop };
}

describe('login', () => {
  it('shows the token form', async () => {
    const page = await send('/dashboard/login', { cookie: null });
    expect(page.status).toBe(200);
    expect(page.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(page.text).toContain('<form method="post" action="/dashboard/login">');
    expect(page.text).toContain('name="token"');
  });

  it('answers a wrong token with 401 and the form again, and sets no cookie', async () => {
    for (const token of [`${TOKEN}x`, '', TOKEN.slice(0, -1), `${TOKEN}\u0000`]) {
      const page = await send('/dashboard/login', { form: { token }, cookie: null });
      expect(page.status, JSON.stringify(token)).toBe(401);
      expect(page.text).toContain('That token is not valid');
      expect(page.text).toContain('name="token"');
      expect(page.headers.get('Set-Cookie')).toBeNull();
    }
  });

  it('trades the right token for an HttpOnly, SameSite=Strict cookie that is not the token', async () => {
    const answer = await send('/dashboard/login', { form: { token: `${TOKEN}\n` }, cookie: null });
    expect(answer.status).toBe(303);
    expect(answer.location).toBe('/dashboard');
    const setCookie = answer.headers.get('Set-Cookie') ?? '';
    const attributes = setCookie.split('; ');
    expect(attributes[0]).toMatch(/^etw_dashboard=\d+\.[A-Za-z0-9_-]{43}$/);
    expect(attributes).toEqual(
      expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/dashboard', 'Max-Age=43200']),
    );
    expect(attributes).not.toContain('Secure');
    expect(setCookie).not.toContain(TOKEN);
    expect(setCookie).not.toContain(btoa(TOKEN).replace(/=+$/, ''));
    // The cookie opens the pages.
    const overview = await send('/dashboard', { cookie: attributes[0] });
    expect(overview.status).toBe(200);
  });

  it('marks the cookie Secure when the browser used https, directly or through a proxy', async () => {
    const direct = await app.request('https://tasks.example/dashboard/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `token=${TOKEN}`,
    });
    expect(direct.headers.get('Set-Cookie')).toContain('; Secure');
    const proxied = await send('/dashboard/login', {
      form: { token: TOKEN },
      cookie: null,
      headers: { 'X-Forwarded-Proto': 'https' },
    });
    expect(proxied.headers.get('Set-Cookie')).toContain('; Secure');
  });

  it('logs out by deleting the cookie, and says so on the login page', async () => {
    const answer = await send('/dashboard/logout', { method: 'POST' });
    expect(answer.status).toBe(303);
    expect(answer.location).toBe('/dashboard/login?flash=logged-out');
    expect(answer.headers.get('Set-Cookie')).toMatch(/^etw_dashboard=; Max-Age=0; Path=\/dashboard;/);
    const page = await send(answer.location as string, { cookie: null });
    expect(page.text).toContain('Logged out.');
  });
});

describe('the guard', () => {
  it('sends pages and actions without a session to the login page', async () => {
    for (const [method, path] of [
      ['GET', '/dashboard'],
      ['GET', '/dashboard?status=FAILED'],
      ['GET', `/dashboard/tasks/${UNKNOWN_ID}`],
      ['POST', `/dashboard/tasks/${UNKNOWN_ID}/cancel`],
      ['POST', `/dashboard/tasks/${UNKNOWN_ID}/retry`],
      ['GET', '/dashboard/nowhere'],
      ['PUT', '/dashboard'],
    ] as const) {
      const answer = await send(path, { method, cookie: null });
      expect(answer.status, `${method} ${path}`).toBe(303);
      expect(answer.location).toBe('/dashboard/login');
    }
  });

  it('refuses tampered, foreign and expired sessions', async () => {
    const now = Math.floor(Date.now() / 1000);
    const value = cookie.split('=')[1] as string;
    const tampered = value.slice(0, -1) + (value.endsWith('A') ? 'B' : 'A');
    // A change in the middle of the MAC (the last character's low bits are padding, which the
    // canonical-encoding check refuses separately).
    const middle = value.length - 10;
    const tamperedMiddle =
      value.slice(0, middle) + (value[middle] === 'A' ? 'B' : 'A') + value.slice(middle + 1);
    const laterExpiry = value.replace(/^\d+/, (expiry) => String(Number(expiry) + 3600));
    for (const forged of [
      tampered,
      tamperedMiddle,
      laterExpiry,
      await dashboardSessionValue('another-token', now + 3600),
      await dashboardSessionValue(TOKEN, now - 1),
      TOKEN,
      '',
    ]) {
      const answer = await send('/dashboard', { cookie: `etw_dashboard=${forged}` });
      expect(answer.status, forged).toBe(303);
    }
    // A session of this token that has not expired is accepted, whoever computed it.
    const valid = await dashboardSessionValue(TOKEN, now + 60);
    expect((await send('/dashboard', { cookie: `etw_dashboard=${valid}` })).status).toBe(200);
  });

  it('accepts the bearer header instead, and answers a wrong one with the API 401', async () => {
    const bearer = await send('/dashboard', { cookie: null, headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(200);
    const wrong = await send('/dashboard', { headers: { Authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.text).error.code).toBe('UNAUTHORIZED');
  });

  it('does not let the cookie into the JSON API', async () => {
    expect((await send('/stats')).status).toBe(401);
    expect((await send('/stats', { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });

  it('keeps the API 404 and 405 for other paths and methods under /dashboard', async () => {
    const wrongMethod = await send(`/dashboard/tasks/${UNKNOWN_ID}/cancel`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('Allow')).toBe('POST');
    const put = await send('/dashboard', { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('Allow')).toBe('GET, HEAD');
    const unknown = await send('/dashboard/nowhere');
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.text).error.code).toBe('NOT_FOUND');
    const head = await send('/dashboard', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });

  it('sends headers that keep pages out of caches and frames', async () => {
    const page = await send('/dashboard');
    expect(page.headers.get('Cache-Control')).toBe('no-store');
    expect(page.headers.get('Content-Security-Policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('Content-Security-Policy')).toContain("default-src 'none'");
    expect(page.headers.get('X-Frame-Options')).toBe('DENY');
  });
});

describe('overview', () => {
  it('shows counts per queue and status that match the database', async () => {
    const plan: Record<string, string[]> = {
      'dash.counts': ['PENDING', 'PENDING', 'COMPLETED', 'FAILED', 'FAILED', 'FAILED'],
      'dash counts & <em>': ['PROGRESS', 'CANCELLED', 'COMPLETED'],
    };
    for (const [queue, statuses] of Object.entries(plan)) {
      const tasks = await client.createTasks(statuses.map(() => ({ name: 'app.tasks.count', queue })));
      for (const [i, status] of statuses.entries()) {
        if (status === 'PROGRESS') {
          await setRow(
            tasks[i]!.id,
            `status = 'PROGRESS', worker_id = 'w1', attempt = 1, started_at = now(), lease_until = now() + interval '1 minute'`,
          );
        } else if (status !== 'PENDING') {
          await setRow(tasks[i]!.id, `status = '${status}', finished_at = now()`);
        }
      }
    }
    const page = await send('/dashboard');
    expect(page.status).toBe(200);
    const { rows } = await t.db.query(
      `select queue, status, count(*)::int as count from ${t.schema}.tasks group by queue, status`,
    );
    const totals = new Map<string, number>();
    for (const row of rows) {
      const link = `/dashboard?${new URLSearchParams({ queue: row.queue as string, status: row.status as string })}`;
      const escaped = link.replace(/&/g, '&amp;');
      expect(page.text, link).toContain(`<a href="${escaped}">${row.count}</a>`);
      totals.set(row.status as string, (totals.get(row.status as string) ?? 0) + (row.count as number));
    }
    for (const [status, count] of totals) {
      expect(page.text).toContain(`<a href="/dashboard?status=${status}">${count}</a>`);
    }
    // The queue name is shown escaped, like every value.
    expect(page.text).toContain('dash counts &amp; &lt;em&gt;');
    expect(page.text).not.toContain('<em>');
    // Finished in the last minute: everything set final above.
    expect(page.text).toMatch(/status-completed">COMPLETED<\/span>\s*<b>2<\/b>/);
  });

  it('lists the newest tasks first, each linked to its page, filtered by status, queue and name', async () => {
    const created = await client.createTasks([
      { name: 'app.tasks.filter_a', queue: 'dash.filters' },
      { name: 'app.tasks.filter_b', queue: 'dash.filters' },
      { name: 'app.tasks.filter_a', queue: 'dash.filters' },
    ]);
    await setRow(created[2]!.id, `status = 'FAILED', finished_at = now()`);
    const byQueue = await send('/dashboard?queue=dash.filters');
    expect(linkedTaskIds(byQueue.text)).toEqual(created.map((task) => task.id).reverse());
    const byName = await send('/dashboard?queue=dash.filters&name=app.tasks.filter_a');
    expect(linkedTaskIds(byName.text)).toEqual([created[2]!.id, created[0]!.id]);
    const byStatus = await send('/dashboard?queue=dash.filters&status=FAILED&name=');
    expect(linkedTaskIds(byStatus.text)).toEqual([created[2]!.id]);
    // The form shows the filters in use.
    expect(byStatus.text).toContain('<option value="FAILED" selected>FAILED</option>');
    expect(byStatus.text).toContain('value="dash.filters"');
  });

  it('answers bad filters with 400 and a message, escaped', async () => {
    for (const [query, message] of [
      ['status=DONE', 'Status must be one of'],
      ['cursor=nope', 'cursor is not one this API returned'],
      [`queue=${'q'.repeat(101)}`, 'Queue must be at most 100'],
      ['name=%3Cscript%3Ealert(1)%3C%2Fscript%3E', 'may only contain letters'],
    ]) {
      const page = await send(`/dashboard?${query}`);
      expect(page.status, query).toBe(400);
      expect(decodeEntities(page.text)).toContain(message);
      expect(page.text).not.toContain('<script>');
    }
  });

  it('pages through 60 tasks with the next-page link, 50 at a time', async () => {
    const created = await client.createTasks(
      Array.from({ length: 60 }, (_, i) => ({ name: 'app.tasks.page', queue: 'dash.paging', args: [i] })),
    );
    const newestFirst = created.map((task) => task.id).reverse();
    const first = await send('/dashboard?queue=dash.paging');
    expect(linkedTaskIds(first.text)).toEqual(newestFirst.slice(0, 50));
    expect(first.text).not.toContain('First page');
    const next = /<a href="([^"]+)" rel="next">Next page<\/a>/.exec(first.text)?.[1];
    expect(next).toMatch(/^\/dashboard\?queue=dash\.paging&amp;cursor=/);
    const second = await send(decodeEntities(next as string));
    expect(second.status).toBe(200);
    expect(linkedTaskIds(second.text)).toEqual(newestFirst.slice(50));
    expect(second.text).not.toContain('rel="next"');
    expect(second.text).toContain('<a href="/dashboard?queue=dash.paging">First page</a>');
  });
});

describe('task page', () => {
  it('shows every field, escaped, never as markup', async () => {
    const task = await client.createTask('app.tasks.escape', {
      args: ['<img src=x onerror=alert(1)>', 7],
      kwargs: { note: '<script>alert(1)</script>', 'quote"key': "it's & more" },
      queue: 'dash.escape',
      priority: 3,
      uniqueKey: 'key-<u>',
    });
    await setRow(
      task.id,
      `status = 'FAILED', error = '</pre><script>alert(2)</script>', error_type = '<b>TypeError</b>',
       error_stack = 'TypeError: x\n    at <anonymous>:1:1', result = '"<script>alert(3)</script>"',
       progress = '{"step":"<i>2</i>"}', worker_id = '<w>', attempt = 2, started_at = now() - interval '2 seconds',
       finished_at = now(), duration = 1.5,
       error_history = '[{"attempt":1,"message":"<script>alert(4)</script>","type":"Error","at":"2025-01-01T00:00:00.000Z"}]'`,
    );
    const page = await send(`/dashboard/tasks/${task.id}`);
    expect(page.status).toBe(200);
    // The page's only script is the dashboard's own file, so any other <script> would be injected.
    const ownScript = /<script src="\/dashboard\/assets\/live-[a-z0-9]+\.js" defer><\/script>/;
    expect(page.text).toMatch(ownScript);
    expect(page.text.replace(ownScript, '')).not.toMatch(/<script|<img|<b>|<i>|<u>|<w>|<anonymous>/i);
    expect(page.text).toContain('&quot;note&quot;: &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;');
    expect(page.text).toContain('&quot;quote\\&quot;key&quot;: &quot;it&#39;s &amp; more&quot;');
    expect(page.text).toContain('&quot;&lt;img src=x onerror=alert(1)&gt;&quot;');
    expect(page.text).toContain('&lt;/pre&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(page.text).toContain('&lt;b&gt;TypeError&lt;/b&gt;');
    expect(page.text).toContain('at &lt;anonymous&gt;:1:1');
    expect(page.text).toContain('&quot;&lt;script&gt;alert(3)&lt;/script&gt;&quot;');
    expect(page.text).toContain('&quot;step&quot;: &quot;&lt;i&gt;2&lt;/i&gt;&quot;');
    expect(page.text).toContain('&lt;script&gt;alert(4)&lt;/script&gt;');
    expect(page.text).toContain('key-&lt;u&gt;');
    expect(page.text).toContain('&lt;w&gt;');
    // Times as ISO UTC, from the row itself.
    const { rows } = await t.db.query(`select created_at, finished_at from ${t.schema}.tasks where id = $1`, [
      task.id,
    ]);
    expect(page.text).toContain(`<time datetime="${(rows[0]!.created_at as Date).toISOString()}">`);
    expect(page.text).toContain((rows[0]!.finished_at as Date).toISOString());
    expect(page.text).toContain('2025-01-01T00:00:00.000Z');
    expect(page.text).toContain('1.5 s');
    // A final task offers retry, not cancel.
    expect(page.text).toContain(`action="/dashboard/tasks/${task.id}/retry"`);
    expect(page.text).not.toContain(`/cancel"`);
  });

  it('offers cancel, not retry, for a pending task', async () => {
    const task = await client.createTask('app.tasks.pending');
    const page = await send(`/dashboard/tasks/${task.id}`);
    expect(page.text).toContain(`action="/dashboard/tasks/${task.id}/cancel"`);
    expect(page.text).not.toContain(`/retry"`);
    expect(page.text).toContain('status-pending');
  });

  it('answers 404 for unknown and malformed ids, escaping the id', async () => {
    const unknown = await send(`/dashboard/tasks/${UNKNOWN_ID}`);
    expect(unknown.status).toBe(404);
    expect(unknown.text).toContain('Task not found');
    const malformed = await send(`/dashboard/tasks/${encodeURIComponent('<script>x</script>')}`);
    expect(malformed.status).toBe(404);
    expect(malformed.text).not.toContain('<script>');
    expect(malformed.text).toContain('&lt;script&gt;');
  });
});

describe('cancel and retry forms', () => {
  async function createPending(): Promise<Task> {
    return client.createTask('app.tasks.form', { queue: 'dash.forms' });
  }

  it('cancels a pending task through the client, notifies, and redirects back with a flash', async () => {
    const task = await createPending();
    const listener = await listen(task.id);
    const answer = await send(`/dashboard/tasks/${task.id}/cancel`, { form: {} });
    expect(answer.status).toBe(303);
    expect(answer.location).toBe(`/dashboard/tasks/${task.id}?flash=cancelled`);
    expect(await statusOf(task.id)).toBe('CANCELLED');
    // The action awaits the publish, and the memory notifier delivers one microtask later:
    // long before the response is read.
    expect(listener.events.map((event) => event.event)).toEqual(['task_cancelled']);
    await listener.stop();
    const page = await send(answer.location as string);
    expect(page.text).toContain('Task cancelled.');
    // Cancelling again changes nothing and says so.
    const again = await send(`/dashboard/tasks/${task.id}/cancel`, { form: {} });
    expect(again.location).toBe(`/dashboard/tasks/${task.id}?flash=cancel-final`);
  });

  it('retries a failed task through the client, notifies, and redirects back with a flash', async () => {
    const task = await createPending();
    await setRow(task.id, `status = 'FAILED', retry_count = 3, error = 'boom', finished_at = now()`);
    const listener = await listen(task.id);
    const answer = await send(`/dashboard/tasks/${task.id}/retry`, { form: {} });
    expect(answer.status).toBe(303);
    expect(answer.location).toBe(`/dashboard/tasks/${task.id}?flash=retried`);
    const { rows } = await t.db.query(
      `select status, retry_count, error from ${t.schema}.tasks where id = $1`,
      [task.id],
    );
    expect(rows[0]).toEqual({ status: 'PENDING', retry_count: 0, error: null });
    expect(listener.events.map((event) => event.event)).toEqual(['task_requeued']);
    await listener.stop();
    expect((await send(answer.location as string)).text).toContain('Task queued again.');
  });

  it('refuses to retry an unfinished task, changing nothing', async () => {
    const task = await createPending();
    const answer = await send(`/dashboard/tasks/${task.id}/retry`, { form: {} });
    expect(answer.location).toBe(`/dashboard/tasks/${task.id}?flash=retry-not-final`);
    expect(await statusOf(task.id)).toBe('PENDING');
    expect((await send(answer.location as string)).text).toContain('Only COMPLETED, FAILED or CANCELLED');
  });

  it('answers 404 for actions on unknown or malformed ids', async () => {
    for (const id of [UNKNOWN_ID, 'bad']) {
      for (const action of ['cancel', 'retry']) {
        expect((await send(`/dashboard/tasks/${id}/${action}`, { form: {} })).status).toBe(404);
      }
    }
  });

  it('refuses a cross-origin post with 403 and leaves the task alone', async () => {
    const task = await createPending();
    for (const origin of ['https://evil.example', 'null', 'https://localhost']) {
      const answer = await send(`/dashboard/tasks/${task.id}/cancel`, {
        form: {},
        headers: { Origin: origin },
      });
      expect(answer.status, origin).toBe(403);
    }
    expect(await statusOf(task.id)).toBe('PENDING');
    const loginAnswer = await send('/dashboard/login', {
      form: { token: TOKEN },
      cookie: null,
      headers: { Origin: 'https://evil.example' },
    });
    expect(loginAnswer.status).toBe(403);
    expect(loginAnswer.headers.get('Set-Cookie')).toBeNull();
    // Its own origin is fine.
    const own = await send(`/dashboard/tasks/${task.id}/cancel`, {
      form: {},
      headers: { Origin: 'http://localhost' },
    });
    expect(own.status).toBe(303);
    expect(await statusOf(task.id)).toBe('CANCELLED');
  });
});

describe('without an API token', () => {
  it('serves an open dashboard: no login, no cookie, actions work, foreign posts still refused', async () => {
    const open = createApp({ database: t.db, schema: t.schema, apiToken: false, client });
    const overview = await send('/dashboard', { cookie: null, on: open });
    expect(overview.status).toBe(200);
    expect(overview.text).not.toContain('Log out');
    const loginPage = await send('/dashboard/login', { cookie: null, on: open });
    expect(loginPage).toMatchObject({ status: 303, location: '/dashboard' });
    const task = await client.createTask('app.tasks.open');
    const taskPage = await send(`/dashboard/tasks/${task.id}`, { cookie: null, on: open });
    expect(taskPage.status).toBe(200);
    const cancel = await send(`/dashboard/tasks/${task.id}/cancel`, { form: {}, cookie: null, on: open });
    expect(cancel.status).toBe(303);
    expect(await statusOf(task.id)).toBe('CANCELLED');
    const forged = await send(`/dashboard/tasks/${task.id}/retry`, {
      form: {},
      cookie: null,
      on: open,
      headers: { Origin: 'https://evil.example' },
    });
    expect(forged.status).toBe(403);
    expect(await statusOf(task.id)).toBe('CANCELLED');
  });
});

describe('mounted under a prefix', () => {
  it('scopes the cookie, links and redirects to the prefix', async () => {
    const parent = new Hono().route('/api', app);
    const answer = await send('/api/dashboard/login', { form: { token: TOKEN }, cookie: null, on: parent });
    expect(answer.location).toBe('/api/dashboard');
    expect(answer.headers.get('Set-Cookie')).toContain('; Path=/api/dashboard;');
    const session = (answer.headers.get('Set-Cookie') ?? '').split(';')[0] as string;
    const overview = await send('/api/dashboard', { cookie: session, on: parent });
    expect(overview.status).toBe(200);
    expect(overview.text).toMatch(/href="\/api\/dashboard\/tasks\/[A-Za-z0-9_-]{22}"/);
    expect(overview.text).toContain('action="/api/dashboard/logout"');
    expect((await send('/api/dashboard', { cookie: null, on: parent })).location).toBe(
      '/api/dashboard/login',
    );
  });
});

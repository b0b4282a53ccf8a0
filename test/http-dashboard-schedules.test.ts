/**
 * The dashboard's schedules page against a real Postgres, through `app.request()`: the table
 * with next fire times, the empty state, escaping of the free text it shows, and the pause,
 * resume and delete forms with the session cookie, the origin check and the flash messages.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { createTaskClient, type TaskClient } from '../src/core/service/task-client.ts';
import { createApp } from '../src/http/index.ts';
import { relativeTime } from '../src/http/dashboard/pages/schedules-page.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('http_dash_sched');
const TOKEN = 'dash-sched-token-41b7';

let client: TaskClient;
let app: Hono;
let cookie: string;

beforeAll(async () => {
  client = createTaskClient({ database: t.db, schema: t.schema });
  app = createApp({ database: t.db, schema: t.schema, apiToken: TOKEN, client });
  cookie = await login();
});
beforeEach(async () => {
  await t.db.query(`delete from ${t.schema}.schedules`);
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

async function login(): Promise<string> {
  const answer = await send('/dashboard/login', { form: { token: TOKEN }, cookie: null });
  expect(answer.status).toBe(303);
  return (answer.headers.get('Set-Cookie') ?? '').split(';')[0] as string;
}

async function pausedOf(name: string): Promise<boolean | undefined> {
  const { rows } = await t.db.query(`select paused from ${t.schema}.schedules where name = $1`, [name]);
  return rows[0]?.paused as boolean | undefined;
}

describe('the schedules page', () => {
  it('shows an empty state, and is linked from every page', async () => {
    const page = await send('/dashboard/schedules');
    expect(page.status).toBe(200);
    expect(page.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(page.text).toContain('No schedules yet.');
    expect(page.text).not.toContain('<table');
    expect((await send('/dashboard')).text).toContain('<a href="/dashboard/schedules">Schedules</a>');
  });

  it('lists each schedule with its cron, zone, task, next fire, last task and counts', async () => {
    const nightly = await client.schedules.create('reports:nightly', {
      cron: '0 3 * * *',
      timezone: 'Europe/Berlin',
      task: 'app.reports.nightly',
      options: { queue: 'reports' },
    });
    const task = await client.createTask('app.reports.nightly');
    await t.db.query(
      `update ${t.schema}.schedules set last_task_id = $1, last_fire_at = now() - interval '5 minutes',
         fired_count = 12, skipped_count = 3 where name = $2`,
      [task.id, nightly.name],
    );
    await client.schedules.create('paused-one', { cron: '*/5 * * * *', task: 'app.tick', paused: true });
    const page = await send('/dashboard/schedules');
    expect(page.status).toBe(200);
    const next = nightly.nextFireAt!.toISOString();
    expect(page.text).toContain(`<time datetime="${next}">${next.replace(/\.\d{3}Z$/, 'Z')}</time>`);
    expect(page.text).toMatch(/in \d+ (h|min|s)/);
    expect(page.text).toContain('<code>0 3 * * *</code>');
    expect(page.text).toContain('Europe/Berlin');
    expect(page.text).toContain('queue reports');
    expect(page.text).toMatch(/5 min ago/);
    expect(page.text).toContain(`href="/dashboard/tasks/${task.id}"`);
    expect(page.text).toContain('status-pending');
    expect(page.text).toMatch(/<td class="num hide-narrow">12<\/td>\s*<td class="num hide-narrow">3<\/td>/);
    // Names sorted; the active one offers Pause, the paused one Resume, both Delete.
    expect(page.text.indexOf('paused-one')).toBeLessThan(page.text.indexOf('reports:<wbr />nightly'));
    expect(page.text).toContain('action="/dashboard/schedules/reports%3Anightly/pause"');
    expect(page.text).not.toContain('action="/dashboard/schedules/reports%3Anightly/resume"');
    expect(page.text).toContain('action="/dashboard/schedules/paused-one/resume"');
    expect(page.text).toContain('action="/dashboard/schedules/reports%3Anightly/delete"');
    expect(page.text).toContain('action="/dashboard/schedules/paused-one/delete"');
    expect(page.text).toContain('status status-cancelled">paused</span>');
  });

  it('marks a next fire time missed by more than its grace as overdue', async () => {
    await client.schedules.create('on-time', { cron: '* * * * *', task: 'app.tick' });
    expect((await send('/dashboard/schedules')).text).not.toContain('overdue');
    await t.db.query(
      `update ${t.schema}.schedules set next_fire_at = now() - interval '10 minutes' where name = 'on-time'`,
    );
    const page = await send('/dashboard/schedules');
    expect(page.text).toMatch(/10 min ago <span class="status status-failed">overdue<\/span>/);
  });

  it('escapes the arguments and every other free text it shows', async () => {
    await client.schedules.create('hostile', {
      cron: '* * * * *',
      task: 'app.tasks.escape',
      args: ['<img src=x onerror=alert(1)>'],
      kwargs: { note: '</small><script>alert(2)</script>', 'quote"key': "it's & more" },
      options: { queue: 'q<b>x</b>' },
    });
    const page = await send('/dashboard/schedules');
    expect(page.status).toBe(200);
    // The page has no script or markup of its own like these, so any would be injected.
    expect(page.text).not.toMatch(/<script|<img|<b>/i);
    expect(page.text).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page.text).toContain('&lt;/small&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(page.text).toContain('&quot;quote\\&quot;key&quot;:&quot;it&#39;s &amp; more&quot;');
    expect(page.text).toContain('queue q&lt;b&gt;x&lt;/b&gt;');
    expect(page.headers.get('Content-Security-Policy')).toContain("default-src 'none'");
  });

  it('cuts long arguments short', async () => {
    await client.schedules.create('long-args', {
      cron: '* * * * *',
      task: 'app.t',
      args: ['y'.repeat(5000)],
    });
    const page = await send('/dashboard/schedules');
    expect(page.text).toContain(`${'y'.repeat(100)}`);
    expect(page.text).not.toContain('y'.repeat(200));
    expect(page.text).toContain('…');
  });

  it('sends a browser without a session to the login page', async () => {
    for (const [method, path] of [
      ['GET', '/dashboard/schedules'],
      ['POST', '/dashboard/schedules/x/pause'],
      ['POST', '/dashboard/schedules/x/resume'],
      ['POST', '/dashboard/schedules/x/delete'],
    ] as const) {
      const answer = await send(path, { method, cookie: null });
      expect(answer.status, `${method} ${path}`).toBe(303);
      expect(answer.location).toBe('/dashboard/login');
    }
  });
});

describe('pause, resume and delete forms', () => {
  it('pauses and resumes through the forms, redirecting back with a flash', async () => {
    await client.schedules.create('tick', { cron: '* * * * *', task: 'app.tick' });
    const pause = await send('/dashboard/schedules/tick/pause', { form: {} });
    expect(pause).toMatchObject({ status: 303, location: '/dashboard/schedules?flash=schedule-paused' });
    expect(await pausedOf('tick')).toBe(true);
    const pausedPage = await send(pause.location as string);
    expect(pausedPage.text).toContain('Schedule paused');
    expect(pausedPage.text).toContain('action="/dashboard/schedules/tick/resume"');
    const resume = await send('/dashboard/schedules/tick/resume', { form: {} });
    expect(resume).toMatchObject({ status: 303, location: '/dashboard/schedules?flash=schedule-resumed' });
    expect(await pausedOf('tick')).toBe(false);
    expect((await send(resume.location as string)).text).toContain('Schedule resumed');
  });

  it('deletes through the form; the tasks it created stay', async () => {
    await client.schedules.create('doomed', { cron: '* * * * *', task: 'app.tick' });
    const task = await client.createTask('app.tick');
    await t.db.query(`update ${t.schema}.schedules set last_task_id = $1 where name = 'doomed'`, [task.id]);
    const answer = await send('/dashboard/schedules/doomed/delete', { form: {} });
    expect(answer).toMatchObject({ status: 303, location: '/dashboard/schedules?flash=schedule-deleted' });
    expect(await pausedOf('doomed')).toBeUndefined();
    expect(await client.getTask(task.id)).not.toBeNull();
    const page = await send(answer.location as string);
    expect(page.text).toContain('Schedule deleted');
    expect(page.text).toContain('No schedules yet.');
  });

  it('answers 404 for unknown names, escaping the name', async () => {
    for (const action of ['pause', 'resume', 'delete']) {
      const answer = await send(`/dashboard/schedules/${encodeURIComponent('<i>x</i>')}/${action}`, {
        form: {},
      });
      expect(answer.status, action).toBe(404);
      expect(answer.text).toContain('Schedule not found');
      expect(answer.text).not.toContain('<i>');
      expect(answer.text).toContain('&lt;i&gt;x&lt;/i&gt;');
    }
  });

  it('refuses a cross-origin post with 403 and leaves the schedule alone', async () => {
    await client.schedules.create('guarded', { cron: '* * * * *', task: 'app.tick' });
    const foreign: Array<Record<string, string>> = [
      { Origin: 'https://evil.example' },
      { 'Sec-Fetch-Site': 'cross-site' },
    ];
    for (const headers of foreign) {
      for (const action of ['pause', 'delete']) {
        const answer = await send(`/dashboard/schedules/guarded/${action}`, { form: {}, headers });
        expect(answer.status, `${action} ${JSON.stringify(headers)}`).toBe(403);
      }
    }
    expect(await pausedOf('guarded')).toBe(false);
    const own = await send('/dashboard/schedules/guarded/pause', {
      form: {},
      headers: { Origin: 'http://localhost' },
    });
    expect(own.status).toBe(303);
    expect(await pausedOf('guarded')).toBe(true);
  });

  it('keeps the API 405 for a GET on a form target', async () => {
    const answer = await send('/dashboard/schedules/x/pause');
    expect(answer.status).toBe(405);
    expect(answer.headers.get('Allow')).toBe('POST');
  });

  it('works on an open dashboard, without a session', async () => {
    const open = createApp({ database: t.db, schema: t.schema, apiToken: false, client });
    await client.schedules.create('open', { cron: '* * * * *', task: 'app.tick' });
    const page = await send('/dashboard/schedules', { cookie: null, on: open });
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('Log out');
    const pause = await send('/dashboard/schedules/open/pause', { form: {}, cookie: null, on: open });
    expect(pause.status).toBe(303);
    expect(await pausedOf('open')).toBe(true);
  });

  it('keeps links and form targets under a mount prefix', async () => {
    await client.schedules.create('mounted', { cron: '* * * * *', task: 'app.tick' });
    const parent = new Hono().route('/api', app);
    const answer = await send('/api/dashboard/login', { form: { token: TOKEN }, cookie: null, on: parent });
    const session = (answer.headers.get('Set-Cookie') ?? '').split(';')[0] as string;
    const page = await send('/api/dashboard/schedules', { cookie: session, on: parent });
    expect(page.text).toContain('action="/api/dashboard/schedules/mounted/pause"');
    const pause = await send('/api/dashboard/schedules/mounted/pause', {
      form: {},
      cookie: session,
      on: parent,
    });
    expect(pause.location).toBe('/api/dashboard/schedules?flash=schedule-paused');
  });
});

describe('relative times', () => {
  it('reads seconds, minutes, hours and days, ahead and behind', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const at = (seconds: number) => relativeTime(new Date(now + seconds * 1000), now);
    expect(at(0.4)).toBe('now');
    expect(at(42)).toBe('in 42 s');
    expect(at(-90)).toBe('1 min ago');
    expect(at(3 * 3600 + 59)).toBe('in 3 h');
    expect(at(47 * 3600)).toBe('in 47 h');
    expect(at(-3 * 86_400)).toBe('3 d ago');
  });
});

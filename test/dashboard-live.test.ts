/**
 * The dashboard's live updates against a real Postgres and a real Redis, through
 * `app.request()`: the event stream hears a task created through the API from its
 * notification, behind the session check; the snapshot a page polls; the bound on open
 * streams; no stream without a notifier; a notifier that goes down ends the streams and refuses
 * new ones until it is back (a private redis-server, stopped and restarted); the per-minute
 * throughput read through its index; limits and charts on the overview.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { inject } from 'vitest';
import { createRedisNotifier } from '../src/adapters/node/redis-notifier.ts';
import type { Notifier } from '../src/core/notifier.ts';
import { createTaskClient, type TaskClient } from '../src/core/service/task-client.ts';
import { dashboardStatements } from '../src/core/sql/dashboard-statements.ts';
import { taskQueryStatements } from '../src/core/sql/task-query-statements.ts';
import { createApp } from '../src/http/index.ts';
import { loadThroughput } from '../src/http/dashboard/chart-data.ts';
import { registerDashboardRoutes } from '../src/http/dashboard/dashboard-routes.ts';
import { encodeCursor } from '../src/http/list-cursor.ts';
import { sseStream } from '../src/http/dashboard/sse-stream.ts';
import { startRedis, stopAllRedis, stopProcess } from './support/private-redis.ts';
import { freePort } from './support/services.ts';
import { useTestSchema } from './support/test-schema.ts';
import { waitFor } from './support/wait-for.ts';

const t = useTestSchema('dash_live');
const TOKEN = 'live-token-4f2a9c';
const quiet = () => undefined;

let notifier: Notifier;
let client: TaskClient;
let app: Hono;
let cookie: string;

beforeAll(async () => {
  notifier = createRedisNotifier({ url: inject('redisUrl'), onError: quiet });
  client = createTaskClient({ database: t.db, schema: t.schema, notifier });
  app = createApp({ database: t.db, schema: t.schema, apiToken: TOKEN, client, notifier });
  cookie = await login(app);
});
afterAll(async () => {
  await notifier.close();
  await stopAllRedis();
});

async function login(on: Hono): Promise<string> {
  const response = await on.request('/dashboard/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: TOKEN }).toString(),
  });
  expect(response.status).toBe(303);
  return (response.headers.get('Set-Cookie') ?? '').split(';')[0] as string;
}

interface SseEvent {
  event: string;
  data: string;
}

/** Reads a server-sent events body frame by frame; comments come back as `event: ':'`. */
function sseReader(response: Response) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  async function next(timeoutMs = 10_000): Promise<SseEvent | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (frame.startsWith(':')) return { event: ':', data: frame.slice(1).trim() };
        const field = (name: string) =>
          frame
            .split('\n')
            .find((line) => line.startsWith(`${name}:`))
            ?.slice(name.length + 1)
            .trim();
        return { event: field('event') ?? (field('retry') ? 'retry' : 'message'), data: field('data') ?? '' };
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no event within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const chunk = await Promise.race([
        reader.read(),
        new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), left))),
      ]);
      clearTimeout(timer);
      if (chunk === 'late') continue;
      if (chunk.done) return null;
      buffer += decoder.decode(chunk.value, { stream: true });
    }
  }
  /** The next `snapshot` event's JSON, skipping heartbeats. */
  async function snapshot(timeoutMs?: number) {
    for (;;) {
      const event = await next(timeoutMs);
      if (event === null) throw new Error('the stream ended');
      if (event.event === 'snapshot') {
        return JSON.parse(event.data) as { at: string; busy: boolean; fragments: Record<string, string> };
      }
    }
  }
  return { next, snapshot, cancel: () => reader.cancel() };
}

async function createThroughApi(on: Hono, body: Record<string, unknown>): Promise<string> {
  const response = await on.request('/tasks', {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

describe('the event stream', () => {
  it('shows a task created through the API as soon as its notification arrives', async () => {
    const response = await app.request('/dashboard/events', { headers: { Cookie: cookie } });
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    const stream = sseReader(response);
    expect(await stream.next()).toEqual({ event: 'retry', data: '' });
    const first = await stream.snapshot();
    // Nothing pending or running: the next timed read is 30 s away, so a snapshot within
    // seconds can only come from the notification.
    expect(first.busy).toBe(false);
    expect(Object.keys(first.fragments).sort()).toEqual([
      'live-cards',
      'live-charts',
      'live-counts',
      'live-tasks',
    ]);

    const id = await createThroughApi(app, { name: 'app.tasks.live_demo', queue: 'live-q' });
    const after = await stream.snapshot(5_000);
    expect(Date.now() - Date.parse(after.at)).toBeLessThan(5_000);
    expect(after.busy).toBe(true);
    expect(after.fragments['live-tasks']).toContain(`/dashboard/tasks/${id}`);
    expect(after.fragments['live-counts']).toContain('live-q');
    await stream.cancel();
  });

  it('follows one task on its own channel', async () => {
    const task = await client.createTask('app.tasks.followed');
    const response = await app.request(`/dashboard/tasks/${task.id}/events`, { headers: { Cookie: cookie } });
    const stream = sseReader(response);
    expect((await stream.snapshot()).fragments['live-task']).toContain('status-pending');
    await client.cancelTask(task.id);
    const after = await stream.snapshot(5_000);
    expect(after.fragments['live-task']).toContain('status-cancelled');
    expect(after.busy).toBe(false);
    await stream.cancel();
  });

  it('needs the session or the API token, like every page', async () => {
    const task = await client.createTask('app.tasks.auth_probe');
    for (const path of [
      '/dashboard/events',
      '/dashboard/live',
      `/dashboard/tasks/${task.id}/events`,
      `/dashboard/tasks/${task.id}/live`,
    ]) {
      const anonymous = await app.request(path);
      expect(anonymous.status, path).toBe(303);
      expect(anonymous.headers.get('Location'), path).toBe('/dashboard/login');
      const wrong = await app.request(path, { headers: { Authorization: 'Bearer nope' } });
      expect(wrong.status, path).toBe(401);
      const bearer = await app.request(path, { headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(bearer.status, path).toBe(200);
      await bearer.body?.cancel();
    }
  });

  it('is bounded: past maxDashboardStreams it answers 503 until one closes', async () => {
    const small = createApp({
      database: t.db,
      schema: t.schema,
      apiToken: TOKEN,
      client,
      notifier,
      maxDashboardStreams: 1,
    });
    const session = await login(small);
    const one = await small.request('/dashboard/events', { headers: { Cookie: session } });
    expect(one.status).toBe(200);
    const refused = await small.request('/dashboard/events', { headers: { Cookie: session } });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('Retry-After')).toBe('30');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('TOO_MANY_STREAMS');
    await one.body!.cancel();
    const again = await small.request('/dashboard/events', { headers: { Cookie: session } });
    expect(again.status).toBe(200);
    await again.body!.cancel();
  });
});

describe('polling', () => {
  it('answers the overview snapshot, and 400 for a bad filter', async () => {
    const id = await createThroughApi(app, { name: 'app.tasks.polled', queue: 'poll-q' });
    const response = await app.request('/dashboard/live?queue=poll-q', { headers: { Cookie: cookie } });
    expect(response.status).toBe(200);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    const snapshot = (await response.json()) as { busy: boolean; fragments: Record<string, string> };
    expect(snapshot.busy).toBe(true);
    expect(snapshot.fragments['live-tasks']).toContain(`/dashboard/tasks/${id}`);
    expect(snapshot.fragments['live-tasks']).not.toContain('app.tasks.live_demo');
    // Past the first page the list stays as its reader left it; the rest still updates.
    const paged = await app.request(`/dashboard/live?cursor=${encodeCursor(id)}`, {
      headers: { Cookie: cookie },
    });
    const pagedSnapshot = (await paged.json()) as { fragments: Record<string, string> };
    expect(Object.keys(pagedSnapshot.fragments).sort()).toEqual(['live-cards', 'live-charts', 'live-counts']);
    const bad = await app.request('/dashboard/live?status=DONE', { headers: { Cookie: cookie } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('INVALID_FILTER');
  });

  it('answers the task snapshot, and 404 for an unknown task', async () => {
    const task = await client.createTask('app.tasks.polled_one');
    const response = await app.request(`/dashboard/tasks/${task.id}/live`, { headers: { Cookie: cookie } });
    const snapshot = (await response.json()) as { fragments: Record<string, string> };
    expect(snapshot.fragments['live-task']).toContain(task.id);
    const unknown = await app.request('/dashboard/tasks/0000000000000000000000/live', {
      headers: { Cookie: cookie },
    });
    expect(unknown.status).toBe(404);
  });

  it('is all a page gets without a notifier: no stream (204), no data-stream link', async () => {
    const polling = createApp({ database: t.db, schema: t.schema, apiToken: TOKEN, client });
    const session = await login(polling);
    const events = await polling.request('/dashboard/events', { headers: { Cookie: session } });
    expect(events.status).toBe(204);
    const page = await polling.request('/dashboard', { headers: { Cookie: session } });
    const text = await page.text();
    expect(text).toContain('data-live="/dashboard/live"');
    expect(text).not.toContain('data-stream=');
    const script = /<script src="(\/dashboard\/assets\/live-[a-z0-9]+\.js)" defer><\/script>/.exec(text);
    expect(script).not.toBeNull();
    const csp = page.headers.get('Content-Security-Policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-eval');
    const asset = await polling.request(script![1]!, { headers: { Cookie: session } });
    expect(asset.headers.get('Content-Type')).toBe('text/javascript; charset=utf-8');
    expect(await asset.text()).toContain('new EventSource(');
  });
});

describe('a notifier that goes down', () => {
  it('ends the streams with a down event, refuses new ones, and streams again once it is back', async () => {
    const port = await freePort();
    let redis = await startRedis(port);
    const flaky = createRedisNotifier({
      url: `redis://127.0.0.1:${port}`,
      retry: { initialDelayMs: 50, maxDelayMs: 200 },
      onError: quiet,
    });
    const live = new Hono();
    registerDashboardRoutes(live, {
      client,
      database: t.db,
      statements: taskQueryStatements(t.schema),
      apiToken: false,
      throttle: { retryAfter: () => 0, failed: quiet, succeeded: quiet },
      schema: t.schema,
      notifier: flaky,
      live: { readyTimeoutMs: 300 },
    });
    try {
      const stream = sseReader(await live.request('/dashboard/events'));
      await stream.snapshot();
      await stopProcess(redis);
      let event = await stream.next();
      while (event?.event === ':' || event?.event === 'snapshot') event = await stream.next();
      expect(event?.event).toBe('down');
      expect(await stream.next()).toBeNull();
      const refused = await live.request('/dashboard/events');
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('NOTIFIER_DOWN');

      redis = await startRedis(port);
      const back = await waitFor(
        async () => {
          const response = await live.request('/dashboard/events');
          if (response.status === 200) return response;
          await response.body?.cancel();
          return null;
        },
        { what: 'a stream accepted again', interval: 100, timeout: 10_000 },
      );
      await back.body!.cancel();
    } finally {
      await flaky.close();
      await stopProcess(redis);
    }
  });
});

describe('charts and limits', () => {
  it('counts finished tasks per minute through the finished_at index', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await client.createTask('app.tasks.chart')).id);
    const finish = (id: string, status: string, minutesAgo: number) =>
      t.db.query(
        `update ${t.schema}.tasks set status = $2, finished_at = now() - make_interval(mins => $3) where id = $1`,
        [id, status, minutesAgo],
      );
    await finish(ids[0]!, 'COMPLETED', 2);
    await finish(ids[1]!, 'COMPLETED', 2);
    await finish(ids[2]!, 'FAILED', 2);
    await finish(ids[3]!, 'COMPLETED', 0);
    await finish(ids[4]!, 'COMPLETED', 75); // before the hour
    await finish(ids[5]!, 'CANCELLED', 1); // not throughput
    const statements = dashboardStatements(t.schema);
    const { values } = await loadThroughput(t.db, statements);
    const total = (series: number[] | undefined) => (series ?? []).reduce((a, b) => a + b, 0);
    // Earlier tests cancelled one task and completed none.
    expect(total(values.COMPLETED)).toBe(3);
    expect(total(values.FAILED)).toBe(1);
    expect(values.COMPLETED?.at(-1)).toBe(1);
    // Two minutes ago is the third bucket from the end, or the fourth when the minute turned.
    expect([values.COMPLETED?.at(-3), values.COMPLETED?.at(-4)]).toContain(2);

    const connection = await t.db.pool.connect();
    try {
      await connection.query('set enable_seqscan = off');
      const { rows } = await connection.query(`explain (format json) ${statements.dashboardThroughput}`);
      const plan = JSON.stringify(rows[0]['QUERY PLAN']);
      expect(plan).toContain('tasks_finished_at_idx');
    } finally {
      await connection.query('reset enable_seqscan');
      connection.release();
    }
  });

  it('shows each queue’s limits, a limited queue without tasks included, and the charts', async () => {
    await t.db.query(
      `insert into ${t.schema}.queue_limits (queue, concurrency, rate_limit, rate_period_seconds)
       values ('limited-q', 3, 10, 60), ('rated-q', null, 5, 1.5)`,
    );
    // A new app: the other's chart numbers may be up to 5 s old (read at most that often).
    const fresh = createApp({ database: t.db, schema: t.schema, apiToken: TOKEN, client, notifier });
    const page = await (await fresh.request('/dashboard', { headers: { Cookie: cookie } })).text();
    const rowOf = (queue: string) =>
      new RegExp(`<tr>\\s*<td class="wrap"><a href="[^"]*">${queue}</a></td>\\s*<td[^>]*>([^<]*)</td>`).exec(
        page,
      )?.[1];
    expect(rowOf('limited-q')).toBe('≤ 3 running · ≤ 10 starts / 1 min');
    expect(rowOf('rated-q')).toBe('≤ 5 starts / 1.5 s');
    expect(rowOf('live-q')).toBe('none');
    expect(page).toContain(
      'aria-label="Tasks finished per minute over the last hour: 3 completed, 1 failed."',
    );
    expect(page).toContain('25% in 60 min');
    expect(page.match(/<svg/g)).toHaveLength(3);
  });
});

describe('the stream body', () => {
  it('starts with the reconnection delay and sends a heartbeat comment while idle', async () => {
    let closed = 0;
    const stream = sseStream({ heartbeatMs: 20, retryMs: 1500, onClose: () => closed++ });
    const reader = sseReader(new Response(stream.body));
    expect(await reader.next()).toEqual({ event: 'retry', data: '' });
    expect(await reader.next(2_000)).toEqual({ event: ':', data: 'heartbeat' });
    stream.send('snapshot', '{"a":\n1}');
    let event = await reader.next();
    while (event?.event === ':') event = await reader.next();
    expect(event).toEqual({ event: 'snapshot', data: '{"a": 1}' });
    await reader.cancel();
    expect(closed).toBe(1);
    expect(stream.open).toBe(false);
  });
});

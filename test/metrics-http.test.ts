/**
 * `GET /metrics` on the HTTP app against a real Postgres: who may read it (the API token, the
 * narrower metrics token, loopback only without a token), what the app counts (tasks it
 * created and cancelled), the queue gauges (one cached query shared by concurrent scrapes,
 * COMPLETED never counted), and a scrape that still answers while the database is down.
 */
import { createServer } from 'node:net';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Hono } from 'hono';
import type { Database } from '../src/core/database.ts';
import { ConfigError } from '../src/core/errors.ts';
import { createPgDatabase } from '../src/adapters/node/pg-database.ts';
import { createApp, createMetricsRegistry } from '../src/http/index.ts';
import { useTestSchema } from './support/test-schema.ts';
import { waitFor } from './support/wait-for.ts';

const t = useTestSchema('metrics_http');
const TOKEN = 'api-token-5f2e';
const METRICS_TOKEN = 'metrics-token-9c1d';

/** The value of the sample `key` (`name{labels}` exactly as written), or undefined. */
function sample(text: string, key: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${key} `));
  return line === undefined ? undefined : Number(line.slice(key.length + 1));
}

async function scrape(app: Hono, token: string | null = METRICS_TOKEN, headers: Record<string, string> = {}) {
  const auth: Record<string, string> = token === null ? {} : { Authorization: `Bearer ${token}` };
  const response = await app.request('/metrics', { headers: { ...auth, ...headers } });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

/** The real driver, counting the queue-stats statements it runs. */
function countingDatabase(db: Database): Database & { statsQueries: number } {
  const counted = {
    statsQueries: 0,
    query: (async (text, params, options) => {
      if (text.includes('oldest_due_age')) counted.statsQueries++;
      return await db.query(text, params, options);
    }) as Database['query'],
    transaction: (queries) => db.transaction(queries),
    close: async () => undefined,
  } satisfies Database & { statsQueries: number };
  return counted;
}

async function insert(
  queue: string,
  status: string,
  count: number,
  extra: { ageSeconds?: number; delayed?: boolean } = {},
) {
  await t.db.query(
    `insert into ${t.schema}.tasks (id, name, queue, status, worker_id, lease_until, created_at, run_at)
     select md5(random()::text || g)::text, 'app.tasks.gauge', $1, $2,
            case when $2 = 'PROGRESS' then 'w1' end,
            case when $2 = 'PROGRESS' then now() + interval '1 minute' end,
            now() - make_interval(secs => $4), case when $5 then now() + interval '1 hour' else now() - make_interval(secs => $4) end
     from generate_series(1, $3) g`,
    [queue, status, count, extra.ageSeconds ?? 0, extra.delayed === true],
  );
}

describe('GET /metrics', () => {
  let db: ReturnType<typeof countingDatabase>;
  let app: Hono;
  beforeAll(() => {
    db = countingDatabase(t.db);
    app = createApp({
      database: db,
      schema: t.schema,
      apiToken: TOKEN,
      metricsToken: METRICS_TOKEN,
      metricsCacheSeconds: 0.3,
      authThrottle: false,
    });
  });

  it('answers the API token and the metrics token; the metrics token opens nothing else', async () => {
    expect((await scrape(app, null)).status).toBe(401);
    expect((await scrape(app, 'wrong')).status).toBe(401);
    expect((await scrape(app, TOKEN)).status).toBe(200);
    const answer = await scrape(app);
    expect(answer).toMatchObject({ status: 200, type: 'text/plain; version=0.0.4; charset=utf-8' });
    expect(answer.text).toContain('# TYPE task_worker_tasks_created_total counter\n');
    const stats = await app.request('/stats', { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(stats.status).toBe(401);
  });

  it('counts the tasks the API creates and cancels, by queue and task name', async () => {
    const send = (path: string, body?: unknown) =>
      app.request(path, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const task = { name: 'app.tasks.send', queue: 'mail' };
    const once = { name: 'app.tasks.send', queue: 'mail', uniqueKey: 'metrics-once' };
    const created = (await (
      await send('/tasks', [task, task, { name: 'app.tasks.other' }, once])
    ).json()) as Array<{ id: string }>;
    // uniqueKey hits answer with the stored task: not creations (one call, then a batch).
    const hit = (await (await send('/tasks', once)).json()) as { id: string };
    expect(hit.id).toBe(created[3]!.id);
    expect((await send('/tasks', [once, once])).status).toBe(201);
    expect((await send(`/tasks/${created[0]!.id}/cancel`)).status).toBe(200);
    expect((await send(`/tasks/${created[0]!.id}/cancel`)).status).toBe(200); // already final

    const { text } = await scrape(app);
    expect(sample(text, 'task_worker_tasks_created_total{queue="mail",task="app.tasks.send"}')).toBe(3);
    expect(sample(text, 'task_worker_tasks_created_total{queue="default",task="app.tasks.other"}')).toBe(1);
    expect(sample(text, 'task_worker_tasks_cancelled_total{queue="mail",task="app.tasks.send"}')).toBe(1);
    await t.db.query(`delete from ${t.schema}.tasks`);
  });

  it('reports the queues from one cached query, shared by scrapes that arrive together', async () => {
    await new Promise((resolve) => setTimeout(resolve, 350)); // past the previous test's answer
    await insert('emails', 'PENDING', 4, { ageSeconds: 90 });
    await insert('emails', 'PENDING', 3, { delayed: true });
    await insert('emails', 'PROGRESS', 2);
    await insert('emails', 'COMPLETED', 50);
    await insert('reports', 'FAILED', 5);
    await insert('reports', 'CANCELLED', 1);
    const before = db.statsQueries;

    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => scrape(app)));
    expect(db.statsQueries - before).toBe(1);
    const { text } = answers[0]!;
    expect(answers.every((answer) => answer.text === text)).toBe(true);
    const tasks = (queue: string, status: string) =>
      sample(text, `task_worker_queue_tasks{queue="${queue}",status="${status}"}`);
    expect([tasks('emails', 'PENDING'), tasks('emails', 'PROGRESS'), tasks('emails', 'FAILED')]).toEqual([
      7, 2, 0,
    ]);
    expect([tasks('reports', 'FAILED'), tasks('reports', 'CANCELLED'), tasks('reports', 'PENDING')]).toEqual([
      5, 1, 0,
    ]);
    expect(text).not.toContain('status="COMPLETED"');
    expect(sample(text, 'task_worker_queue_due_tasks{queue="emails"}')).toBe(4);
    const age = sample(text, 'task_worker_queue_oldest_due_age_seconds{queue="emails"}')!;
    expect(age).toBeGreaterThanOrEqual(90);
    expect(age).toBeLessThan(150);
    expect(sample(text, 'task_worker_queue_stats_up')).toBe(1);

    // Within the cache time a change is not seen yet; after it, a drained queue reads 0.
    await t.db.query(`delete from ${t.schema}.tasks where queue = 'reports'`);
    expect(sample((await scrape(app)).text, 'task_worker_queue_tasks{queue="reports",status="FAILED"}')).toBe(
      5,
    );
    await waitFor(
      async () =>
        sample((await scrape(app)).text, 'task_worker_queue_tasks{queue="reports",status="FAILED"}') === 0,
      { what: 'the drained queue at 0 after the cache time' },
    );
  });
});

describe('GET /stats, cached the same way', () => {
  it('shares one count among overlapping requests, and reuses it for statsCacheSeconds', async () => {
    let counts = 0;
    const database: Database = {
      ...countingDatabase(t.db),
      query: (async (text, params, options) => {
        if (text.includes('last_60m')) counts++;
        return await t.db.query(text, params, options);
      }) as Database['query'],
    };
    const app = createApp({ database, schema: t.schema, apiToken: TOKEN, statsCacheSeconds: 0.3 });
    const pending = async () => {
      const response = await app.request('/stats', { headers: { Authorization: `Bearer ${TOKEN}` } });
      return ((await response.json()) as { totals: { PENDING: number } }).totals.PENDING;
    };
    await t.db.query(`delete from ${t.schema}.tasks`);
    await insert('stats', 'PENDING', 2);
    expect(await Promise.all([pending(), pending(), pending()])).toEqual([2, 2, 2]);
    expect(counts).toBe(1);
    await insert('stats', 'PENDING', 1);
    expect(await pending()).toBe(2);
    await waitFor(async () => (await pending()) === 3, { what: 'the new count after the cache time' });
    expect(() => createApp({ database, apiToken: TOKEN, statsCacheSeconds: -1 })).toThrow(ConfigError);
  });
});

describe('GET /metrics while the database is down', () => {
  it('still answers the counters, with task_worker_queue_stats_up 0, and reports the error once', async () => {
    const server = createServer();
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', () => listening()));
    const { port } = server.address() as { port: number };
    await new Promise<void>((closed) => server.close(() => closed()));
    const down = createPgDatabase({ connectionString: `postgres://postgres@127.0.0.1:${port}/test` });
    const onError = vi.fn();
    const registry = createMetricsRegistry();
    registry.counter('task_worker_tasks_created_total', 'x', ['queue', 'task']).labels('q', 'n').inc();
    const app = createApp({ database: down, schema: t.schema, apiToken: TOKEN, metrics: registry, onError });
    try {
      const first = await scrape(app, TOKEN);
      const second = await scrape(app, TOKEN);
      expect(first.status).toBe(200);
      expect(sample(second.text, 'task_worker_queue_stats_up')).toBe(0);
      expect(sample(second.text, 'task_worker_tasks_created_total{queue="q",task="n"}')).toBe(1);
      expect(second.text).not.toContain('task_worker_queue_tasks{');
      expect(onError).toHaveBeenCalledTimes(1);
    } finally {
      await down.close();
    }
  });
});

describe('GET /metrics without an API token, or turned off', () => {
  it('is open to loopback host names only, and absent with metrics: false; bad options throw', async () => {
    const open = createApp({ database: t.db, schema: t.schema, apiToken: false });
    expect((await scrape(open, null, { Host: '127.0.0.1:4000' })).status).toBe(200);
    expect((await scrape(open, null, { Host: 'rebind.example:4000' })).status).toBe(421);
    const guarded = createApp({
      database: t.db,
      schema: t.schema,
      apiToken: false,
      metricsToken: METRICS_TOKEN,
    });
    expect((await scrape(guarded, null, { Host: 'localhost' })).status).toBe(401);
    expect((await scrape(guarded, METRICS_TOKEN, { Host: 'localhost' })).status).toBe(200);
    const off = createApp({ database: t.db, schema: t.schema, apiToken: TOKEN, metrics: false });
    expect((await scrape(off, TOKEN)).status).toBe(404);
    const options = { database: t.db, apiToken: TOKEN };
    expect(() => createApp({ ...options, metricsToken: 'has space' })).toThrow(ConfigError);
    expect(() => createApp({ ...options, metricsCacheSeconds: -1 })).toThrow(ConfigError);
  });
});

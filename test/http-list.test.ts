/**
 * `GET /tasks` against a real Postgres: filters, keyset pagination, parameter validation; and
 * every route once over each Database driver, the real `neon()` HTTP client included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { createApp } from '../src/http/index.ts';
import type { TaskJson } from '../src/http/index.ts';
import { driverCases, type DriverHandle } from './support/drivers.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('http_list');
const TOKEN = 'list-token';

let app: Hono;
beforeAll(() => {
  app = createApp({ database: t.db, schema: t.schema, apiToken: TOKEN });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted on
async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await app.request(path, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function list(query: string): Promise<{ tasks: TaskJson[]; nextCursor: string | null }> {
  const response = await call('GET', `/tasks?${query}`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
}

async function createBatch(
  name: string,
  count: number,
  extra: Record<string, unknown> = {},
): Promise<TaskJson[]> {
  const response = await call(
    'POST',
    '/tasks',
    Array.from({ length: count }, (_, i) => ({ name, args: [i], ...extra })),
  );
  expect(response.status).toBe(201);
  return response.body;
}

describe('GET /tasks', () => {
  it('pages through 120 tasks 50/50/20 with no duplicates or gaps, newest first', async () => {
    // Two batches: each batch shares one created_at (one transaction), so the page boundary at
    // 50 falls inside a batch; ids are time-ordered and strictly increasing per process.
    const older = await createBatch('app.tasks.page', 60);
    const newer = await createBatch('app.tasks.page', 60);
    const pages: TaskJson[][] = [];
    let cursor: string | null = null;
    do {
      const page: { tasks: TaskJson[]; nextCursor: string | null } = await list(
        `name=app.tasks.page&limit=50${cursor ? `&cursor=${cursor}` : ''}`,
      );
      pages.push(page.tasks);
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(pages.map((page) => page.length)).toEqual([50, 50, 20]);
    const ids = pages.flat().map((task) => task.id);
    expect(new Set(ids).size).toBe(120);
    const expected = [...older, ...newer].map((task) => task.id).reverse();
    expect(ids).toEqual(expected);
  });

  it('filters by status, name and queue, alone and together', async () => {
    const tasks = await createBatch('app.tasks.filter', 6, { queue: 'filter-a' });
    const others = await createBatch('app.tasks.filter', 3, { queue: 'filter-b' });
    await t.db.query(`update ${t.schema}.tasks set status = 'FAILED' where id = any($1)`, [
      [tasks[0]!.id, tasks[1]!.id, others[0]!.id],
    ]);
    const ids = (page: { tasks: TaskJson[] }) => page.tasks.map((task) => task.id).sort();
    expect((await list('queue=filter-a')).tasks).toHaveLength(6);
    expect((await list('name=app.tasks.filter')).tasks).toHaveLength(9);
    expect(ids(await list('queue=filter-a&status=FAILED'))).toEqual([tasks[0]!.id, tasks[1]!.id].sort());
    expect(ids(await list('name=app.tasks.filter&status=FAILED&queue=filter-b'))).toEqual([others[0]!.id]);
    const failed = await list('status=FAILED');
    expect(failed.tasks.every((task) => task.status === 'FAILED')).toBe(true);
    expect((await list('queue=filter-nobody')).tasks).toEqual([]);
    // An empty parameter is no filter, as an HTML form sends it.
    expect((await list('queue=filter-a&status=&name=&limit=&cursor=')).tasks).toHaveLength(6);
  });

  it('returns 50 tasks by default and at most 500', async () => {
    await createBatch('app.tasks.many', 501);
    const first = await list('name=app.tasks.many');
    expect(first.tasks).toHaveLength(50);
    expect(first.nextCursor).toEqual(expect.any(String));
    const big = await list('name=app.tasks.many&limit=500');
    expect(big.tasks).toHaveLength(500);
    expect((await list(`name=app.tasks.many&limit=500&cursor=${big.nextCursor}`)).tasks).toHaveLength(1);
  });

  it.each([
    ['status=DONE', 'INVALID_STATUS', 'status'],
    ['status=pending', 'INVALID_STATUS', 'status'],
    ['limit=0', 'INVALID_LIMIT', 'limit'],
    ['limit=501', 'INVALID_LIMIT', 'limit'],
    ['limit=abc', 'INVALID_LIMIT', 'limit'],
    ['limit=1.5', 'INVALID_LIMIT', 'limit'],
    ['limit=-1', 'INVALID_LIMIT', 'limit'],
    ['name=drop%20table', 'INVALID_NAME', 'name'],
    ['name=a%00b', 'INVALID_NAME', 'name'],
    ['queue=a%00b', 'INVALID_QUEUE', 'queue'],
    [`queue=${'q'.repeat(101)}`, 'INVALID_QUEUE', 'queue'],
    ['cursor=garbage!', 'INVALID_CURSOR', 'cursor'],
    ['cursor=abc', 'INVALID_CURSOR', 'cursor'],
    [`cursor=${btoa('t:short').replace(/=+$/, '')}`, 'INVALID_CURSOR', 'cursor'],
    [`cursor=${btoa("t:aaaaaaaaaaaaaaaaaaaa'1").replace(/=+$/, '')}`, 'INVALID_CURSOR', 'cursor'],
    [`cursor=${btoa('{"a":1}').replace(/=+$/, '')}`, 'INVALID_CURSOR', 'cursor'],
    [`cursor=${btoa('aaaaaaaaaaaaaaaaaaaaaa').replace(/=+$/, '')}`, 'INVALID_CURSOR', 'cursor'],
  ])('refuses %s with 400 %s', async (query, code, field) => {
    const response = await call('GET', `/tasks?${query}`);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code, field });
  });
});

describe.each(driverCases)('the API over $name', (driver) => {
  let handle: DriverHandle;
  let api: Hono;
  beforeAll(async () => {
    handle = await driver.open(t.databaseUrl);
    api = createApp({ database: handle.db, schema: t.schema, apiToken: false });
  });
  afterAll(async () => handle.close());

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted on
  async function send(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await api.request(path, {
      method,
      // Without a token, writes must say they are JSON (see http-security.test.ts).
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  }

  it('serves every route', async () => {
    const name = `app.tasks.driver_${driver.name.replace('-', '_')}`;
    expect(await send('GET', '/healthz')).toMatchObject({ status: 200, body: { ok: true } });
    const created = await send('POST', '/tasks', [
      { name, args: [1] },
      { name, args: [2], queue: 'drivers' },
    ]);
    expect(created.status).toBe(201);
    const [first, second] = created.body as TaskJson[];
    expect(await send('GET', `/tasks/${first!.id}`)).toMatchObject({ status: 200, body: { id: first!.id } });
    const page = await send('GET', `/tasks?name=${name}&limit=1`);
    expect(page.body.tasks).toHaveLength(1);
    const rest = await send('GET', `/tasks?name=${name}&limit=1&cursor=${page.body.nextCursor}`);
    expect(rest.body).toMatchObject({ nextCursor: null });
    expect([page.body.tasks[0].id, rest.body.tasks[0].id].sort()).toEqual([first!.id, second!.id].sort());
    expect((await send('GET', `/tasks/${first!.id}/wait?timeout=0`)).body.done).toBe(false);
    expect((await send('POST', `/tasks/${first!.id}/cancel`)).body).toMatchObject({ changed: true });
    expect((await send('POST', `/tasks/${first!.id}/retry`)).body).toMatchObject({ status: 'PENDING' });
    expect((await send('POST', `/tasks/${second!.id}/retry`)).status).toBe(409);
    const stats = await send('GET', '/stats');
    expect(stats.body.counts.drivers.PENDING).toBeGreaterThanOrEqual(1);
    expect(typeof stats.body.totals.PENDING).toBe('number');
  });
});

/**
 * The schedule routes of the HTTP API against a real Postgres, through `app.request()`: each
 * route, its error codes and shapes, replace semantics, pause and resume, and authentication.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { createApp } from '../src/http/index.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('http_schedules');
const TOKEN = 'sched-token-3f9a1d';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let app: Hono;
beforeAll(() => {
  app = createApp({
    database: t.db,
    schema: t.schema,
    apiToken: TOKEN,
    maxBodyBytes: 64 * 1024,
    onError: () => undefined,
  });
});
beforeEach(async () => {
  await t.db.query(`delete from ${t.schema}.schedules`);
});

interface Call {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted on
  body: any;
}

async function call(
  method: string,
  path: string,
  options: { body?: unknown; raw?: string; token?: string | null; on?: Hono } = {},
): Promise<Call> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  const token = options.token === undefined ? TOKEN : options.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const reads = method === 'GET' || method === 'HEAD';
  const json = options.body === undefined || reads ? undefined : JSON.stringify(options.body);
  const body = options.raw ?? json;
  const response = await (options.on ?? app).request(path, { method, headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

const NIGHTLY = {
  name: 'reports:nightly.v1',
  cron: '0 3 * * *',
  timezone: 'Europe/Berlin',
  task: 'app.report',
};

async function create(body: Record<string, unknown> = NIGHTLY): Promise<Call> {
  const answer = await call('POST', '/schedules', { body });
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return answer;
}

function expectError(answer: Call, status: number, code: string, field?: string): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.body.error.code).toBe(code);
  expect(typeof answer.body.error.message).toBe('string');
  if (field !== undefined) expect(answer.body.error.field).toBe(field);
}

describe('authentication', () => {
  it('answers every schedule route without the right token with 401', async () => {
    // Without the throttle, which would answer 429 after the fifth wrong token.
    const on = createApp({ database: t.db, schema: t.schema, apiToken: TOKEN, authThrottle: false });
    await create();
    for (const [method, path] of [
      ['GET', '/schedules'],
      ['POST', '/schedules'],
      ['GET', '/schedules/reports:nightly.v1'],
      ['PUT', '/schedules/reports:nightly.v1'],
      ['POST', '/schedules/reports:nightly.v1/pause'],
      ['POST', '/schedules/reports:nightly.v1/resume'],
      ['DELETE', '/schedules/reports:nightly.v1'],
    ] as const) {
      for (const token of [null, 'wrong']) {
        const answer = await call(method, path, { token, on, body: { ...NIGHTLY, paused: true } });
        expectError(answer, 401, 'UNAUTHORIZED');
      }
    }
    // Nothing changed.
    const after = await call('GET', '/schedules/reports:nightly.v1');
    expect(after.body).toMatchObject({ paused: false, cron: '0 3 * * *' });
  });
});

describe('POST /schedules and reading', () => {
  it('creates a schedule with defaults, dates as ISO strings, and a Location', async () => {
    const before = Date.now();
    const answer = await create({ name: 'every-minute', cron: '* * * * *', task: 'app.tick', args: [1] });
    expect(answer.headers.get('Location')).toBe('/schedules/every-minute');
    expect(answer.body).toEqual({
      name: 'every-minute',
      cron: '* * * * *',
      timezone: 'UTC',
      task: 'app.tick',
      args: [1],
      kwargs: {},
      options: { queue: 'default', priority: 0, timeout: 300, maxRetries: null },
      misfire: 'skip',
      misfireLimit: 10,
      misfireGraceSeconds: 60,
      skipIfUnfinished: false,
      paused: false,
      source: 'api',
      nextFireAt: expect.stringMatching(ISO),
      lastFireAt: null,
      lastTaskId: null,
      lastTaskStatus: null,
      firedCount: 0,
      skippedCount: 0,
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });
    const next = Date.parse(answer.body.nextFireAt);
    expect(next).toBeGreaterThan(before);
    expect(next - before).toBeLessThanOrEqual(60_000);
    expect(new Date(next).getUTCSeconds()).toBe(0);
  });

  it('keeps every field given, and reads the time zone for the next fire', async () => {
    const body = {
      ...NIGHTLY,
      kwargs: { to: 'ops@example.com' },
      options: { queue: 'reports', priority: 5, timeout: 60, maxRetries: 2 },
      misfire: 'all',
      misfireLimit: 3,
      misfireGraceSeconds: 30,
      skipIfUnfinished: true,
    };
    const { body: created } = await create(body);
    expect(created).toMatchObject({ ...body, source: 'api', paused: false });
    // 03:00 in Berlin is 01:00 or 02:00 UTC, whatever the season.
    expect([1, 2]).toContain(new Date(created.nextFireAt).getUTCHours());
  });

  it('lists schedules by name with their next fire times, and reads one', async () => {
    expect(await call('GET', '/schedules')).toMatchObject({ status: 200, body: { schedules: [] } });
    const { body: nightly } = await create();
    await create({ name: 'a-first', cron: '*/5 * * * *', task: 'app.tick' });
    const list = await call('GET', '/schedules');
    expect(list.status).toBe(200);
    expect(list.body.schedules.map((s: { name: string }) => s.name)).toEqual([
      'a-first',
      'reports:nightly.v1',
    ]);
    for (const schedule of list.body.schedules) expect(schedule.nextFireAt).toMatch(ISO);
    const one = await call('GET', '/schedules/reports:nightly.v1');
    expect(one).toMatchObject({ status: 200, body: nightly });
    const encoded = await call('GET', `/schedules/${encodeURIComponent('reports:nightly.v1')}`);
    expect(encoded.body).toEqual(nightly);
  });

  it('shows the last fire, its task and that task status', async () => {
    await create();
    const task = await call('POST', '/tasks', { body: { name: 'app.report' } });
    await t.db.query(
      `update ${t.schema}.schedules set last_task_id = $1, last_fire_at = '2026-01-02T03:04:05.678Z',
         fired_count = 7, skipped_count = 2 where name = $2`,
      [task.body.id, NIGHTLY.name],
    );
    const answer = await call('GET', `/schedules/${NIGHTLY.name}`);
    expect(answer.body).toMatchObject({
      lastTaskId: task.body.id,
      lastTaskStatus: 'PENDING',
      lastFireAt: '2026-01-02T03:04:05.678Z',
      firedCount: 7,
      skippedCount: 2,
    });
    await t.db.query(`delete from ${t.schema}.tasks where id = $1`, [task.body.id]);
    expect((await call('GET', `/schedules/${NIGHTLY.name}`)).body.lastTaskStatus).toBeNull();
  });

  it('answers 404 SCHEDULE_NOT_FOUND for an unknown or impossible name', async () => {
    expectError(await call('GET', '/schedules/nope'), 404, 'SCHEDULE_NOT_FOUND');
    const long = await call('GET', `/schedules/${'x'.repeat(5000)}`);
    expectError(long, 404, 'SCHEDULE_NOT_FOUND');
    expect(long.body.error.message.length).toBeLessThan(300);
  });

  it('answers 409 SCHEDULE_EXISTS for a name that is taken, changing nothing', async () => {
    await create();
    const again = await call('POST', '/schedules', { body: { ...NIGHTLY, cron: '0 4 * * *' } });
    expectError(again, 409, 'SCHEDULE_EXISTS');
    expect((await call('GET', `/schedules/${NIGHTLY.name}`)).body.cron).toBe('0 3 * * *');
  });
});

describe('POST /schedules: refused bodies', () => {
  const cases: Array<[string, unknown, number, string, string | undefined]> = [
    ['bad cron', { ...NIGHTLY, cron: 'every day' }, 400, 'INVALID_SCHEDULE', 'cron'],
    ['cron out of range', { ...NIGHTLY, cron: '61 * * * *' }, 400, 'INVALID_SCHEDULE', 'cron'],
    ['no cron', { name: 'x', task: 'app.t' }, 400, 'INVALID_SCHEDULE', 'cron'],
    ['bad time zone', { ...NIGHTLY, timezone: 'Mars/Olympus' }, 400, 'INVALID_SCHEDULE', 'timezone'],
    ['bad name', { ...NIGHTLY, name: 'has space' }, 400, 'INVALID_SCHEDULE', 'name'],
    ['no name', { cron: '* * * * *', task: 'app.t' }, 400, 'INVALID_SCHEDULE', 'name'],
    ['numeric name', { ...NIGHTLY, name: 5 }, 400, 'INVALID_SCHEDULE', 'name'],
    ['bad misfire', { ...NIGHTLY, misfire: 'sometimes' }, 400, 'INVALID_SCHEDULE', 'misfire'],
    ['bad misfireLimit', { ...NIGHTLY, misfireLimit: 0 }, 400, 'INVALID_SCHEDULE', 'misfireLimit'],
    ['bad grace', { ...NIGHTLY, misfireGraceSeconds: -1 }, 400, 'INVALID_SCHEDULE', 'misfireGraceSeconds'],
    ['string flag', { ...NIGHTLY, paused: 'true' }, 400, 'INVALID_SCHEDULE', 'paused'],
    ['number flag', { ...NIGHTLY, skipIfUnfinished: 1 }, 400, 'INVALID_SCHEDULE', 'skipIfUnfinished'],
    ['unknown field', { ...NIGHTLY, crn: '* * * * *' }, 400, 'INVALID_SCHEDULE', 'crn'],
    ['read-only field', { ...NIGHTLY, nextFireAt: null }, 400, 'INVALID_SCHEDULE', 'nextFireAt'],
    [
      'task option it cannot keep',
      { ...NIGHTLY, options: { uniqueKey: 'k' } },
      400,
      'INVALID_SCHEDULE',
      'options.uniqueKey',
    ],
    [
      'args hidden in options',
      { ...NIGHTLY, options: { args: [1] } },
      400,
      'INVALID_SCHEDULE',
      'options.args',
    ],
    ['options not an object', { ...NIGHTLY, options: 'fast' }, 400, 'INVALID_SCHEDULE', 'options'],
    ['bad task name', { ...NIGHTLY, task: 'has space' }, 400, 'INVALID_NAME', undefined],
    ['no task', { name: 'x', cron: '* * * * *' }, 400, 'INVALID_NAME', undefined],
    ['args not an array', { ...NIGHTLY, args: { a: 1 } }, 400, 'INVALID_ARGS', undefined],
    ['kwargs not an object', { ...NIGHTLY, kwargs: [1] }, 400, 'INVALID_KWARGS', undefined],
    ['bad queue', { ...NIGHTLY, options: { queue: '' } }, 400, 'INVALID_QUEUE', undefined],
    ['bad priority', { ...NIGHTLY, options: { priority: 1.5 } }, 400, 'INVALID_PRIORITY', undefined],
    ['NUL in a string', { ...NIGHTLY, kwargs: { a: 'x\u0000y' } }, 400, 'NOT_JSON', 'kwargs.a'],
    ['an array', [NIGHTLY], 400, 'INVALID_BODY', 'body'],
    ['null', null, 400, 'INVALID_BODY', 'body'],
    ['a string', 'schedule', 400, 'INVALID_BODY', 'body'],
  ];
  for (const [label, body, status, code, field] of cases) {
    it(`answers ${status} ${code} for ${label}`, async () => {
      expectError(await call('POST', '/schedules', { body }), status, code, field);
    });
  }

  it('answers INVALID_JSON for text that is not JSON or is nested too deep', async () => {
    expectError(await call('POST', '/schedules', { raw: '{"name":' }), 400, 'INVALID_JSON', 'body');
    expectError(await call('POST', '/schedules', { raw: '' }), 400, 'INVALID_JSON', 'body');
    const deep = `{"name":"deep","cron":"* * * * *","task":"t","kwargs":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    expectError(await call('POST', '/schedules', { raw: deep }), 400, 'INVALID_JSON');
  });

  it('answers 413 PAYLOAD_TOO_LARGE for a body over maxBodyBytes', async () => {
    const big = { ...NIGHTLY, args: ['x'.repeat(70 * 1024)] };
    expectError(await call('POST', '/schedules', { body: big }), 413, 'PAYLOAD_TOO_LARGE', 'body');
    expectError(await call('PUT', `/schedules/${NIGHTLY.name}`, { body: big }), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('writes nothing for a refused body', async () => {
    await call('POST', '/schedules', { body: { ...NIGHTLY, cron: 'nope' } });
    expect((await call('GET', '/schedules')).body.schedules).toEqual([]);
  });
});

describe('PUT /schedules/:name', () => {
  it('replaces the definition, keeping the counters, the last fire and the creation time', async () => {
    const { body: created } = await create({ ...NIGHTLY, skipIfUnfinished: true, kwargs: { a: 1 } });
    await t.db.query(
      `update ${t.schema}.schedules set fired_count = 4, last_fire_at = '2026-01-01T00:00:00Z' where name = $1`,
      [NIGHTLY.name],
    );
    const answer = await call('PUT', `/schedules/${NIGHTLY.name}`, {
      body: { cron: '30 6 * * 1', task: 'app.weekly', args: ['x'], options: { queue: 'weekly' } },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      name: NIGHTLY.name,
      cron: '30 6 * * 1',
      timezone: 'UTC', // replaced: not given, so the default
      task: 'app.weekly',
      args: ['x'],
      kwargs: {},
      options: { queue: 'weekly' },
      skipIfUnfinished: false,
      firedCount: 4,
      lastFireAt: '2026-01-01T00:00:00.000Z',
      createdAt: created.createdAt,
    });
    const next = new Date(answer.body.nextFireAt);
    expect([next.getUTCDay(), next.getUTCHours(), next.getUTCMinutes()]).toEqual([1, 6, 30]);
    expect(await call('GET', `/schedules/${NIGHTLY.name}`)).toMatchObject({ body: answer.body });
  });

  it('accepts the path name in the body, refuses another one', async () => {
    await create();
    const same = await call('PUT', `/schedules/${NIGHTLY.name}`, { body: { ...NIGHTLY, cron: '0 5 * * *' } });
    expect(same).toMatchObject({ status: 200, body: { cron: '0 5 * * *' } });
    const renamed = await call('PUT', `/schedules/${NIGHTLY.name}`, { body: { ...NIGHTLY, name: 'other' } });
    expectError(renamed, 400, 'INVALID_SCHEDULE', 'name');
    expect((await call('GET', '/schedules/other')).status).toBe(404);
  });

  it('keeps a paused schedule paused; paused: true pauses an active one', async () => {
    await create();
    await call('POST', `/schedules/${NIGHTLY.name}/pause`);
    const stillPaused = await call('PUT', `/schedules/${NIGHTLY.name}`, {
      body: { ...NIGHTLY, paused: false },
    });
    expect(stillPaused.body).toMatchObject({ paused: true, nextFireAt: null });
    await call('POST', `/schedules/${NIGHTLY.name}/resume`);
    const paused = await call('PUT', `/schedules/${NIGHTLY.name}`, { body: { ...NIGHTLY, paused: true } });
    expect(paused.body).toMatchObject({ paused: true, nextFireAt: null });
  });

  it('answers 404 for an unknown name and 400 for a bad definition, changing nothing', async () => {
    const { name: _name, ...definition } = NIGHTLY;
    expectError(await call('PUT', '/schedules/nope', { body: definition }), 404, 'SCHEDULE_NOT_FOUND');
    await create();
    const bad = await call('PUT', `/schedules/${NIGHTLY.name}`, { body: { ...NIGHTLY, cron: '* *' } });
    expectError(bad, 400, 'INVALID_SCHEDULE', 'cron');
    expectError(await call('PUT', `/schedules/${NIGHTLY.name}`, { raw: '[' }), 400, 'INVALID_JSON');
    expectError(await call('PUT', `/schedules/${NIGHTLY.name}`, { body: [] }), 400, 'INVALID_BODY');
    expect((await call('GET', `/schedules/${NIGHTLY.name}`)).body.cron).toBe('0 3 * * *');
  });
});

describe('pause, resume and delete', () => {
  it('pauses (no next fire) and resumes from the next fire time after now', async () => {
    await create({ name: 'tick', cron: '* * * * *', task: 'app.tick' });
    const paused = await call('POST', '/schedules/tick/pause');
    expect(paused).toMatchObject({ status: 200, body: { name: 'tick', paused: true, nextFireAt: null } });
    expect((await call('GET', '/schedules')).body.schedules[0]).toMatchObject({
      paused: true,
      nextFireAt: null,
    });
    const before = Date.now();
    const resumed = await call('POST', '/schedules/tick/resume');
    expect(resumed).toMatchObject({ status: 200, body: { paused: false } });
    const next = Date.parse(resumed.body.nextFireAt);
    expect(next).toBeGreaterThan(before);
    expect(next - before).toBeLessThanOrEqual(60_000);
  });

  it('creates a schedule paused when asked', async () => {
    const { body } = await create({ ...NIGHTLY, paused: true });
    expect(body).toMatchObject({ paused: true, nextFireAt: null });
  });

  it('deletes with 204 and no body; the schedule is gone, its tasks stay', async () => {
    await create();
    const task = await call('POST', '/tasks', { body: { name: 'app.report' } });
    await t.db.query(`update ${t.schema}.schedules set last_task_id = $1 where name = $2`, [
      task.body.id,
      NIGHTLY.name,
    ]);
    const answer = await call('DELETE', `/schedules/${NIGHTLY.name}`);
    expect(answer).toMatchObject({ status: 204, body: null });
    expectError(await call('GET', `/schedules/${NIGHTLY.name}`), 404, 'SCHEDULE_NOT_FOUND');
    expect((await call('GET', `/tasks/${task.body.id}`)).status).toBe(200);
    expectError(await call('DELETE', `/schedules/${NIGHTLY.name}`), 404, 'SCHEDULE_NOT_FOUND');
  });

  it('answers 404 SCHEDULE_NOT_FOUND for actions on unknown names', async () => {
    for (const action of ['pause', 'resume']) {
      expectError(await call('POST', `/schedules/nope/${action}`), 404, 'SCHEDULE_NOT_FOUND');
    }
    expectError(await call('DELETE', '/schedules/nope'), 404, 'SCHEDULE_NOT_FOUND');
  });
});

describe('routing and the open app', () => {
  it('answers other methods with 405 and Allow', async () => {
    const patch = await call('PATCH', '/schedules/x');
    expectError(patch, 405, 'METHOD_NOT_ALLOWED');
    expect(patch.headers.get('Allow')?.split(', ').sort()).toEqual(['DELETE', 'GET', 'HEAD', 'PUT']);
    const getPause = await call('GET', '/schedules/x/pause');
    expectError(getPause, 405, 'METHOD_NOT_ALLOWED');
    expect(getPause.headers.get('Allow')).toBe('POST');
    expectError(await call('DELETE', '/schedules'), 405, 'METHOD_NOT_ALLOWED');
  });

  it('without a token, refuses cross-origin and non-JSON schedule writes', async () => {
    const open = createApp({ database: t.db, schema: t.schema, apiToken: false });
    await create();
    const forged = await open.request(`/schedules/${NIGHTLY.name}/pause`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: 'https://evil.example' },
    });
    expect(forged.status).toBe(403);
    const plain = await open.request(`/schedules/${NIGHTLY.name}`, { method: 'DELETE' });
    expect(plain.status).toBe(415);
    expect((await call('GET', `/schedules/${NIGHTLY.name}`)).body.paused).toBe(false);
    const own = await call('POST', `/schedules/${NIGHTLY.name}/pause`, { token: null, on: open });
    expect(own).toMatchObject({ status: 200, body: { paused: true } });
  });
});

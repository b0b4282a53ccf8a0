/**
 * `createRunHandler` (edge-task-worker/serverless), the `/run` endpoint any platform's scheduler
 * calls, on the real Postgres through an injected node-postgres driver: the token and its
 * throttle as on the API, a due task run and reported, the budget (validated, capped, obeyed), a
 * due schedule fired, and the same route mounted in `createApp`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { defineTasks, type TaskContext } from '../src/core/index.ts';
import { createScheduleClient } from '../src/core/service/schedule-client.ts';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { createApp } from '../src/http/create-app.ts';
import { runEndpoint } from '../worker/cron/run-endpoint.ts';
import { createRunHandler, type RunHandlerOptions } from '../worker/cron/run-handler.ts';
import { createRunner } from '../worker/cron/run-runner.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('run_endpoint');
const TOKEN = 'run-endpoint-test-token';
const client = () => createTaskClient({ database: t.db, schema: t.schema });

const tasks = defineTasks({
  'run.multiply': (a: number, b: number) => a * b,
  'run.wait': async (ms: number, ctx: TaskContext) => {
    await sleep(ms, undefined, { signal: ctx.signal });
    return ms;
  },
});

/** A handler serving `queue` only, so each test sees just its own tasks. */
function handler(queue: string, options: Partial<RunHandlerOptions> = {}) {
  return createRunHandler({
    tasks,
    token: TOKEN,
    database: t.db,
    schema: t.schema,
    queues: [queue],
    ...options,
  });
}

function call(
  run: (request: Request) => Promise<Response>,
  query = '',
  init: { method?: string; token?: string | null } = {},
): Promise<Response> {
  const token = init.token === undefined ? TOKEN : init.token;
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
  return run(new Request(`https://app.test/api/run${query}`, { method: init.method ?? 'POST', headers }));
}

async function row(id: string) {
  const { rows } = await t.db.query(`select status, result, worker_id from ${t.schema}.tasks where id = $1`, [
    id,
  ]);
  return rows[0] as { status: string; result: unknown; worker_id: string | null };
}

describe('the token', () => {
  it('is required: 401 without it or with a wrong one, and nothing runs', async () => {
    const run = handler('auth');
    const task = await client().createTask('run.multiply', { args: [2, 3], queue: 'auth' });
    const missing = await call(run, '', { token: null });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await missing.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    expect((await call(run, '', { token: 'wrong' })).status).toBe(401);
    expect(await row(task.id)).toMatchObject({ status: 'PENDING' });
  });

  it('is throttled like the API: after 5 wrong ones, 429 with Retry-After, the right token too', async () => {
    const run = handler('throttle');
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(run, '', { token: 'wrong' })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    const locked = await call(run);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await locked.json()).toMatchObject({ error: { code: 'TOO_MANY_ATTEMPTS' } });
  });

  it('must be given, without whitespace', () => {
    const base = { tasks, database: t.db };
    expect(() => createRunHandler({ ...base, token: '' })).toThrow(/needs token/);
    expect(() => createRunHandler({ ...base, token: 'secret\n' })).toThrow(/whitespace/);
    expect(() => createRunHandler({ tasks, token: TOKEN, env: {} })).toThrow(/DATABASE_URL/);
  });
});

describe('a run', () => {
  it('runs a due task and reports it, on POST and on GET (Vercel Cron)', async () => {
    const run = handler('due');
    const first = await client().createTask('run.multiply', { args: [6, 7], queue: 'due' });
    const response = await call(run);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({
      budgetMs: 25_000,
      skipped: false,
      leading: true,
      swept: 0,
      fired: 0,
      executed: expect.objectContaining({ claimed: 1, completed: 1, failed: 0 }),
    });
    expect(await row(first.id)).toMatchObject({ status: 'COMPLETED', result: 42 });
    expect((await row(first.id)).worker_id).toMatch(/^serverless:/);

    const second = await client().createTask('run.multiply', { args: [2, 5], queue: 'due' });
    const viaGet = await call(run, '', { method: 'GET' });
    expect(await viaGet.json()).toMatchObject({ executed: { completed: 1 } });
    expect(await row(second.id)).toMatchObject({ status: 'COMPLETED', result: 10 });
  });

  it('answers 405 to other methods, HEAD included (it would run tasks to answer nothing)', async () => {
    const run = handler('methods');
    for (const method of ['PUT', 'DELETE', 'HEAD']) {
      const response = await call(run, '', { method });
      expect({ method, status: response.status, allow: response.headers.get('allow') }).toEqual({
        method,
        status: 405,
        allow: 'GET, POST',
      });
    }
  });
});

describe('the budget', () => {
  it('must be a positive number of seconds: 400 INVALID_BUDGET otherwise', async () => {
    const run = handler('bad_budget');
    for (const budget of ['0', '-1', 'soon', '1e3', 'Infinity', '0.0']) {
      const response = await call(run, `?budget=${encodeURIComponent(budget)}`);
      expect({ budget, status: response.status, body: await response.json() }).toEqual({
        budget,
        status: 400,
        body: { error: { code: 'INVALID_BUDGET', field: 'budget', message: expect.any(String) } },
      });
    }
  });

  it('is capped at maxBudgetMs, and a default above the cap is refused at creation', async () => {
    const run = handler('cap', { budgetMs: 5000, maxBudgetMs: 8000 });
    expect(await (await call(run, '?budget=600')).json()).toMatchObject({ budgetMs: 8000 });
    expect(await (await call(run, '?budget=2.5')).json()).toMatchObject({ budgetMs: 2500 });
    expect(await (await call(run)).json()).toMatchObject({ budgetMs: 5000 });
    expect(() => handler('cap', { budgetMs: 9000, maxBudgetMs: 8000 })).toThrow(/maxBudgetMs/);
  });

  it("leaves a task whose timeout exceeds it unclaimed under longTasks 'skip'", async () => {
    const run = handler('skip', { longTasks: 'skip' });
    const long = await client().createTask('run.wait', { args: [10], queue: 'skip', timeout: 60 });
    const short = await client().createTask('run.wait', { args: [10], queue: 'skip', timeout: 1 });
    // 5 s less the 2 s kept for the last write-back: timeouts of at most 3 s fit.
    const report = await (await call(run, '?budget=5')).json();
    expect(report).toMatchObject({ budgetMs: 5000, executed: { claimed: 1, completed: 1 } });
    expect(await row(short.id)).toMatchObject({ status: 'COMPLETED' });
    expect(await row(long.id)).toMatchObject({ status: 'PENDING' });
  });

  it('cuts off a task that overruns it and answers within it', async () => {
    const run = handler('cut');
    const task = await client().createTask('run.wait', { args: [20_000], queue: 'cut' });
    const started = Date.now();
    const report = await (await call(run, '?budget=3')).json();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(report).toMatchObject({ executed: { claimed: 1, cutOff: 1, completed: 0 } });
    expect(await row(task.id)).toMatchObject({ status: 'PENDING' });
  });
});

describe('schedules', () => {
  it('fires a due schedule through /run and runs its task; declared schedules are synced', async () => {
    const run = handler('scheduled', {
      schedules: { nightly: { cron: '0 3 * * *', task: 'run.multiply', args: [1, 1] } },
    });
    await createScheduleClient(t.db, t.schema).create('every-minute', {
      cron: '* * * * *',
      task: 'run.multiply',
      args: [3, 4],
      options: { queue: 'scheduled' },
    });
    // Due now: its fire time is the start of this minute (late by less than the 60 s grace).
    await t.db.query(
      `update ${t.schema}.schedules set next_fire_at = date_trunc('minute', now()) where name = 'every-minute'`,
    );
    const report = await (await call(run)).json();
    expect(report).toMatchObject({ leading: true, fired: 1, executed: { completed: 1 } });
    const { rows } = await t.db.query(
      `select status, result from ${t.schema}.tasks where schedule_name = 'every-minute'`,
    );
    expect(rows).toEqual([{ status: 'COMPLETED', result: 12 }]);
    const names = (await createScheduleClient(t.db, t.schema).list()).map((s) => s.name);
    expect(names).toEqual(['every-minute', 'nightly']);
  });
});

describe('the same route in createApp, and the runner alone', () => {
  it('createApp({ run }) serves /run behind the API token; without run, /run is 404', async () => {
    const runner = createRunner({ tasks, database: t.db, schema: t.schema, queues: ['app'] });
    const run = runEndpoint(runner.budget, (budgetMs) => runner.run(budgetMs));
    const app = createApp({ database: t.db, schema: t.schema, apiToken: TOKEN, run });
    const task = await client().createTask('run.multiply', { args: [5, 5], queue: 'app' });
    expect((await app.request('/run', { method: 'POST' })).status).toBe(401);
    const response = await app.request('/run?budget=4', {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(await response.json()).toMatchObject({ budgetMs: 4000, executed: { completed: 1 } });
    expect(await row(task.id)).toMatchObject({ status: 'COMPLETED', result: 25 });
    const plain = createApp({ database: t.db, schema: t.schema, apiToken: TOKEN });
    expect((await plain.request('/run', { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    expect(() => createApp({ database: t.db, apiToken: false, run })).toThrow(/needs apiToken/);
  });

  it('createRunner().run() is the same run as a function (Deno.cron, Netlify)', async () => {
    const runner = createRunner({ tasks, database: t.db, schema: t.schema, queues: ['runner'] });
    const task = await client().createTask('run.multiply', { args: [7, 7], queue: 'runner' });
    const report = await runner.run(3000);
    expect(report.executed).toMatchObject({ claimed: 1, completed: 1 });
    expect(await row(task.id)).toMatchObject({ status: 'COMPLETED', result: 49 });
  });
});

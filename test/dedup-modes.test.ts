/**
 * Dedup modes (migration 0009): `uniqueMode` 'pending', 'throttle' and 'debounce' next to the
 * default 'unfinished', through the client, `createTasks`, `createTaskWith`, `POST /tasks` and
 * the `create_task` SQL function; each race-free under 20 concurrent creators on separate
 * connections; and the default path still one plain insert statement.
 */
import type { Hono } from 'hono';
import { beforeAll, describe, expect, it } from 'vitest';
import { TaskValidationError } from '../src/core/errors.ts';
import { createTaskClient, type TaskClient } from '../src/core/service/task-client.ts';
import { validateTask, type TaskOptions } from '../src/core/validate-task.ts';
import { createApp } from '../src/http/index.ts';
import { countingDatabase } from './support/drivers.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('dedup');
const TOKEN = 'dedup-token-7c41';
let client: TaskClient;
let counted: ReturnType<typeof countingDatabase>;
let app: Hono;
let seq = 0;
const key = (label: string) => `${label}:${++seq}`;

beforeAll(() => {
  counted = countingDatabase(t.db);
  client = createTaskClient({ database: counted, schema: t.schema });
  app = createApp({ database: t.db, schema: t.schema, apiToken: TOKEN, onError: () => undefined });
});

async function setStatus(id: string, status: string): Promise<void> {
  const running = status === 'PROGRESS';
  await t.db.query(
    `update "${t.schema}".tasks set status = $2, worker_id = case when $3 then 'w1' end,
       lease_until = case when $3 then now() + interval '1 minute' end where id = $1`,
    [id, status, running],
  );
}

async function rowsOf(dedupKey: string): Promise<Record<string, unknown>[]> {
  const { rows } = await t.db.query(
    `select id, status, unique_key, dedup_key, unique_mode from "${t.schema}".tasks where dedup_key = $1 order by id`,
    [dedupKey],
  );
  return rows;
}

function refusal(options: unknown): { code: string; field: string; message: string } {
  try {
    validateTask('ok', options as TaskOptions);
  } catch (error) {
    if (error instanceof TaskValidationError) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('validation', () => {
  it.each([
    ['an unknown mode', { uniqueKey: 'k', uniqueMode: 'once' }, 'INVALID_UNIQUE_MODE', 'uniqueMode'],
    ['a mode that is not a string', { uniqueKey: 'k', uniqueMode: 1 }, 'INVALID_UNIQUE_MODE', 'uniqueMode'],
    ['a mode without a key', { uniqueMode: 'pending' }, 'INVALID_UNIQUE_MODE', 'uniqueMode'],
    [
      'throttle without a period',
      { uniqueKey: 'k', uniqueMode: 'throttle' },
      'INVALID_UNIQUE_PERIOD',
      'uniquePeriod',
    ],
    [
      'debounce with a zero period',
      { uniqueKey: 'k', uniqueMode: 'debounce', uniquePeriod: 0 },
      'INVALID_UNIQUE_PERIOD',
      'uniquePeriod',
    ],
    [
      'a period over a year',
      { uniqueKey: 'k', uniqueMode: 'throttle', uniquePeriod: 31_536_001 },
      'INVALID_UNIQUE_PERIOD',
      'uniquePeriod',
    ],
    [
      'a period as a string',
      { uniqueKey: 'k', uniqueMode: 'throttle', uniquePeriod: '5' },
      'INVALID_UNIQUE_PERIOD',
      'uniquePeriod',
    ],
    [
      'a period with pending',
      { uniqueKey: 'k', uniqueMode: 'pending', uniquePeriod: 5 },
      'INVALID_UNIQUE_PERIOD',
      'uniquePeriod',
    ],
    [
      'a period with the default mode',
      { uniqueKey: 'k', uniquePeriod: 5 },
      'INVALID_UNIQUE_PERIOD',
      'uniquePeriod',
    ],
    ['a period without a key', { uniquePeriod: 5 }, 'INVALID_UNIQUE_PERIOD', 'uniquePeriod'],
    [
      'debounce with a delay',
      { uniqueKey: 'k', uniqueMode: 'debounce', uniquePeriod: 5, delay: 1 },
      'INVALID_OPTIONS',
      'delay',
    ],
    [
      'debounce with a runAt',
      { uniqueKey: 'k', uniqueMode: 'debounce', uniquePeriod: 5, runAt: new Date() },
      'INVALID_OPTIONS',
      'runAt',
    ],
  ])('refuses %s', (_label, options, code, field) => {
    expect(refusal(options)).toMatchObject({ code, field });
  });

  it('defaults to unfinished with a key, null without; debounce is due after its period', () => {
    expect(validateTask('ok', { uniqueKey: 'k' })).toMatchObject({
      uniqueMode: 'unfinished',
      uniquePeriod: null,
    });
    expect(validateTask('ok', {})).toMatchObject({ uniqueMode: null, uniquePeriod: null });
    const debounced = validateTask('ok', { uniqueKey: 'k', uniqueMode: 'debounce', uniquePeriod: 2.5 });
    expect(debounced).toMatchObject({ runAt: null, delay: 2.5, uniquePeriod: 2.5 });
  });
});

describe('the default mode', () => {
  it('is one plain insert statement, with or without a key (no function, no lock)', async () => {
    counted.statements.length = 0;
    const k = key('plain');
    const first = await client.createTask('app.tasks.d', { uniqueKey: k });
    const second = await client.createTask('app.tasks.d', { uniqueKey: k, uniqueMode: 'unfinished' });
    await client.createTask('app.tasks.d');
    expect(second.id).toBe(first.id);
    expect(counted.statements).toHaveLength(3);
    expect(counted.statements.join('\n')).not.toContain('create_task');
    expect(first.uniqueKey).toBe(k);
  });

  it('does not meet a task of another mode with the same key', async () => {
    const k = key('mixed');
    const unfinished = await client.createTask('app.tasks.d', { uniqueKey: k });
    const pending = await client.createTask('app.tasks.d', { uniqueKey: k, uniqueMode: 'pending' });
    expect(pending.id).not.toBe(unfinished.id);
    expect(pending.uniqueKey).toBe(k);
    expect(await rowsOf(k)).toEqual([
      { id: pending.id, status: 'PENDING', unique_key: null, dedup_key: k, unique_mode: 'pending' },
    ]);
  });
});

describe("uniqueMode 'pending'", () => {
  it('returns the pending task, and creates a new one once it started', async () => {
    const k = key('pending');
    const first = await client.createTask('app.tasks.p', { uniqueKey: k, uniqueMode: 'pending', args: [1] });
    const again = await client.createTask('app.tasks.p', { uniqueKey: k, uniqueMode: 'pending', args: [2] });
    expect(again).toEqual(first);
    expect(again.args).toEqual([1]);
    await setStatus(first.id, 'PROGRESS');
    const second = await client.createTask('app.tasks.p', { uniqueKey: k, uniqueMode: 'pending', args: [3] });
    expect(second.id).not.toBe(first.id);
    expect(second).toMatchObject({ status: 'PENDING', args: [3], uniqueKey: k });
    // Two tasks of the key now: one running, one pending (the default mode would refuse this).
    expect((await rowsOf(k)).map((row) => row.status)).toEqual(['PROGRESS', 'PENDING']);
    const third = await client.createTask('app.tasks.p', { uniqueKey: k, uniqueMode: 'pending' });
    expect(third.id).toBe(second.id);
    expect(await client.getTask(second.id)).toEqual(second);
  });
});

describe("uniqueMode 'throttle'", () => {
  it('returns the task created within the period whatever its state, then creates a new one', async () => {
    const k = key('throttle');
    const options = { uniqueKey: k, uniqueMode: 'throttle', uniquePeriod: 60 } as const;
    const first = await client.createTask('app.tasks.t', { ...options, args: [1] });
    for (const status of ['PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED']) {
      await setStatus(first.id, status);
      const again = await client.createTask('app.tasks.t', { ...options, args: [2] });
      expect(again).toMatchObject({ id: first.id, status, args: [1] });
    }
    // The period passes.
    await t.db.query(
      `update "${t.schema}".tasks set created_at = now() - interval '61 seconds' where id = $1`,
      [first.id],
    );
    const second = await client.createTask('app.tasks.t', { ...options, args: [3] });
    expect(second.id).not.toBe(first.id);
    // A shorter period asked by a later call is that call's window.
    await t.db.query(
      `update "${t.schema}".tasks set created_at = now() - interval '10 seconds' where id = $1`,
      [second.id],
    );
    const short = await client.createTask('app.tasks.t', { ...options, uniquePeriod: 5 });
    expect(short.id).not.toBe(second.id);
    const long = await client.createTask('app.tasks.t', { ...options, uniquePeriod: 3600 });
    expect(long.id).toBe(short.id);
  });
});

describe("uniqueMode 'debounce'", () => {
  it('creates a task due after the period, then replaces its args and moves run_at later', async () => {
    const k = key('debounce');
    const options = { uniqueKey: k, uniqueMode: 'debounce', uniquePeriod: 30 } as const;
    const before = Date.now();
    const first = await client.createTask('app.tasks.b', { ...options, args: [1], kwargs: { a: 1 } });
    expect(first.runAt.getTime()).toBeGreaterThanOrEqual(before + 29_000);
    const result = await client.createTaskWith([], 'app.tasks.b', {
      ...options,
      uniquePeriod: 120,
      args: [2],
      kwargs: { b: 2 },
    });
    expect(result.created).toBe(false);
    expect(result.task).toMatchObject({ id: first.id, args: [2], kwargs: { b: 2 }, status: 'PENDING' });
    expect(result.task.runAt.getTime()).toBeGreaterThan(first.runAt.getTime() + 60_000);
    expect(result.task.createdAt).toEqual(first.createdAt);
    expect(await client.getTask(first.id)).toEqual(result.task);
    // Once it started, a call creates a new task.
    await setStatus(first.id, 'PROGRESS');
    const next = await client.createTask('app.tasks.b', { ...options, args: [3] });
    expect(next.id).not.toBe(first.id);
    expect((await client.getTask(first.id))?.args).toEqual([2]);
  });
});

describe.each([
  { mode: 'unfinished' as const },
  { mode: 'pending' as const },
  { mode: 'throttle' as const, period: 60 },
  { mode: 'debounce' as const, period: 60 },
])('20 concurrent creators, uniqueMode $mode', ({ mode, period }) => {
  it('create one task', async () => {
    const k = key(`race-${mode}`);
    // Each its own client over the pool (max 20): separate connections.
    const clients = Array.from({ length: 20 }, () => createTaskClient({ database: t.db, schema: t.schema }));
    const tasks = await Promise.all(
      clients.map((c, i) =>
        c.createTask('app.tasks.race', {
          uniqueKey: k,
          uniqueMode: mode,
          ...(period === undefined ? {} : { uniquePeriod: period }),
          args: [i],
        }),
      ),
    );
    expect(new Set(tasks.map((task) => task.id)).size).toBe(1);
    const { rows } = await t.db.query(
      `select count(*)::int as n, min(args->>0) as arg from "${t.schema}".tasks where coalesce(unique_key, dedup_key) = $1`,
      [k],
    );
    expect(rows[0]!.n).toBe(1);
    // Debounce: the stored args are the last writer's, which one of the calls returned.
    if (mode === 'debounce') expect(tasks.map((task) => String(task.args[0]))).toContain(rows[0]!.arg);
  });
});

describe('createTasks, createTaskWith, POST /tasks, create_task', () => {
  it('deduplicates within a batch, keeps input order, mixes with plain tasks', async () => {
    const k = key('batch');
    const tasks = await client.createTasks([
      { name: 'app.tasks.x', uniqueKey: `${k}:b`, uniqueMode: 'pending' },
      { name: 'app.tasks.x', args: [1] },
      { name: 'app.tasks.x', uniqueKey: `${k}:a`, uniqueMode: 'throttle', uniquePeriod: 60 },
      { name: 'app.tasks.x', uniqueKey: `${k}:b`, uniqueMode: 'pending' },
      { name: 'app.tasks.x', uniqueKey: `${k}:u` },
      { name: 'app.tasks.x', uniqueKey: `${k}:a`, uniqueMode: 'throttle', uniquePeriod: 60 },
    ]);
    expect(tasks[3]!.id).toBe(tasks[0]!.id);
    expect(tasks[5]!.id).toBe(tasks[2]!.id);
    expect(new Set(tasks.map((task) => task.id)).size).toBe(4);
    expect(tasks.map((task) => task.uniqueKey)).toEqual([
      `${k}:b`,
      null,
      `${k}:a`,
      `${k}:b`,
      `${k}:u`,
      `${k}:a`,
    ]);
    for (const task of tasks) expect(await client.getTask(task.id)).toEqual(task);
  });

  it('createTaskWith rolls a dedup-mode task back with the transaction', async () => {
    const k = key('with');
    const options = { uniqueKey: k, uniqueMode: 'pending' } as const;
    await expect(client.createTaskWith([{ text: 'select 1/0' }], 'app.tasks.w', options)).rejects.toThrow();
    expect(await rowsOf(k)).toEqual([]);
    const made = await client.createTaskWith([], 'app.tasks.w', options);
    expect(made.created).toBe(true);
    expect((await client.createTaskWith([], 'app.tasks.w', options)).task.id).toBe(made.task.id);
  });

  it('POST /tasks takes the options and refuses bad ones with the field named', async () => {
    const k = key('http');
    const post = async (body: unknown) => {
      const response = await app.request('/tasks', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(body),
      });
      const json = (await response.json()) as { id?: string; uniqueKey?: string; error?: unknown };
      return { status: response.status, body: json };
    };
    const body = { name: 'app.tasks.h', uniqueKey: k, uniqueMode: 'throttle', uniquePeriod: 60 };
    const first = await post(body);
    expect(first.status).toBe(201);
    expect(first.body.uniqueKey).toBe(k);
    expect((await post({ ...body, args: [2] })).body.id).toBe(first.body.id);
    const bad = await post({ ...body, uniqueMode: 'sometimes' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'INVALID_UNIQUE_MODE', field: 'uniqueMode' });
    const missing = await post({ name: 'app.tasks.h', uniqueKey: k, uniqueMode: 'debounce' });
    expect(missing.body.error).toMatchObject({ code: 'INVALID_UNIQUE_PERIOD', field: 'uniquePeriod' });
  });

  it('create_task in SQL deduplicates the same way, and refuses a REPEATABLE READ transaction', async () => {
    const k = key('sql');
    const call = `select "${t.schema}".create_task('app.tasks.s', '[]', '{}', $1::jsonb) as task`;
    const options = JSON.stringify({ uniqueKey: k, uniqueMode: 'pending' });
    const created = async () => (await t.db.query(call, [options])).rows[0]!.task as Record<string, unknown>;
    const [a, b] = [await created(), await created()];
    expect(a).toMatchObject({ created: true, unique_mode: 'pending', dedup_key: k, unique_key: null });
    expect(b).toMatchObject({ created: false, id: a.id });
    const error = await t.db
      .transaction([
        { text: 'set transaction isolation level repeatable read' },
        { text: call, params: [options] },
      ])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: '0A000', detail: 'UNIQUE_MODE_ISOLATION' });
  });
});

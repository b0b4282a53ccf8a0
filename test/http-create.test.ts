/**
 * `POST /tasks` against a real Postgres, through `app.request()`: what is stored, bulk
 * creation, and every kind of bad input refused with the field named and nothing written.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { createApp } from '../src/http/index.ts';
import { TASK_LIMITS } from '../src/core/validate-task.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('http_create');
const TOKEN = 'test-token-5b0e1c';

let app: Hono;
beforeAll(() => {
  app = createApp({ database: t.db, schema: t.schema, apiToken: TOKEN, onError: () => undefined });
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
  options: { body?: unknown; raw?: string; on?: Hono } = {},
): Promise<Call> {
  const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` };
  const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const response = await (options.on ?? app).request(path, { method, headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

/** A request body sent as is: JSON.stringify would overflow its stack on some of them. */
class Raw {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

async function rowCount(): Promise<number> {
  const { rows } = await t.db.query(`select count(*)::int as n from ${t.schema}.tasks`);
  return rows[0]!.n as number;
}

describe('POST /tasks', () => {
  it('creates a task and answers 201 with it, as stored', async () => {
    const runAt = new Date(Date.now() + 60_000).toISOString();
    const response = await call('POST', '/tasks', {
      body: {
        name: 'app.tasks.multiply_numbers',
        args: [2, 3.5, 'x', null, { nested: [true] }],
        kwargs: { scale: 10, label: 'ünïcode ✓' },
        timeout: 42,
        queue: 'emails',
        priority: 5,
        runAt,
        maxRetries: 3,
        uniqueKey: 'http:multiply',
      },
    });
    expect(response.status).toBe(201);
    const task = response.body;
    expect(response.headers.get('Location')).toBe(`/tasks/${task.id}`);
    expect(task).toMatchObject({
      name: 'app.tasks.multiply_numbers',
      args: [2, 3.5, 'x', null, { nested: [true] }],
      kwargs: { scale: 10, label: 'ünïcode ✓' },
      timeout: 42,
      queue: 'emails',
      priority: 5,
      status: 'PENDING',
      retryCount: 0,
      maxRetries: 3,
      uniqueKey: 'http:multiply',
      runAt,
      result: null,
      error: null,
      startedAt: null,
      finishedAt: null,
      attempt: 0,
    });
    expect(task.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const { rows } = await t.db.query(`select * from ${t.schema}.tasks where id = $1`, [task.id]);
    expect(rows[0]).toMatchObject({
      name: 'app.tasks.multiply_numbers',
      args: [2, 3.5, 'x', null, { nested: [true] }],
      kwargs: { scale: 10, label: 'ünïcode ✓' },
      timeout: 42,
      queue: 'emails',
      priority: 5,
      max_retries: 3,
      unique_key: 'http:multiply',
      status: 'PENDING',
    });
    expect((rows[0]!.run_at as Date).toISOString()).toBe(runAt);
    expect((rows[0]!.created_at as Date).toISOString()).toBe(task.createdAt);
  });

  it('applies the defaults', async () => {
    const { status, body } = await call('POST', '/tasks', { body: { name: 'app.tasks.defaults' } });
    expect(status).toBe(201);
    expect(body).toMatchObject({ args: [], kwargs: {}, queue: 'default', priority: 0, timeout: 300 });
  });

  it('creates many tasks from an array, in order', async () => {
    const before = await rowCount();
    const { status, body } = await call('POST', '/tasks', {
      body: Array.from({ length: 25 }, (_, i) => ({ name: 'app.tasks.bulk', args: [i], queue: `q${i % 3}` })),
    });
    expect(status).toBe(201);
    expect(body.map((task: { args: number[] }) => task.args[0])).toEqual(
      Array.from({ length: 25 }, (_, i) => i),
    );
    expect(body[4].queue).toBe('q1');
    expect(await rowCount()).toBe(before + 25);
    expect(await call('POST', '/tasks', { body: [] })).toMatchObject({ status: 201, body: [] });
  });

  it.each([
    ['garbage', '{"name": '],
    ['an empty body', ''],
    ['a trailing comma', '{"name": "app.tasks.x",}'],
    ['single quotes', "{'name': 'app.tasks.x'}"],
  ])('answers 400 INVALID_JSON for %s', async (_label, raw) => {
    const before = await rowCount();
    const response = await call('POST', '/tasks', { raw });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'INVALID_JSON' });
    expect(await rowCount()).toBe(before);
  });

  const payloadArg = 'x'.repeat(TASK_LIMITS.maxPayloadBytes);
  const deep = new Raw(`{"name":"ok","args":${'['.repeat(5000)}${']'.repeat(5000)}}`);
  it.each([
    ['no name', 400, 'INVALID_NAME', 'name', { args: [1] }],
    ['a name with spaces', 400, 'INVALID_NAME', 'name', { name: 'drop table' }],
    ['a numeric name', 400, 'INVALID_NAME', 'name', { name: 42 }],
    ['args as an object', 400, 'INVALID_ARGS', 'args', { name: 'ok', args: { a: 1 } }],
    ['kwargs as an array', 400, 'INVALID_KWARGS', 'kwargs', { name: 'ok', kwargs: [1] }],
    ['a NUL in args', 400, 'NOT_JSON', 'args[0]', { name: 'ok', args: ['a\u0000b'] }],
    ['a lone surrogate in kwargs', 400, 'NOT_JSON', 'kwargs.a', { name: 'ok', kwargs: { a: '\ud800' } }],
    ['a NUL in a kwargs key', 400, 'NOT_JSON', 'kwargs', { name: 'ok', kwargs: { 'a\u0000': 1 } }],
    ['nesting 5,000 deep', 400, 'INVALID_JSON', undefined, deep],
    ['args over the payload limit', 413, 'PAYLOAD_TOO_LARGE', 'args', { name: 'ok', args: [payloadArg] }],
    ['a zero timeout', 400, 'INVALID_TIMEOUT', 'timeout', { name: 'ok', timeout: 0 }],
    ['a fractional timeout', 400, 'INVALID_TIMEOUT', 'timeout', { name: 'ok', timeout: 1.5 }],
    ['a timeout as a string', 400, 'INVALID_TIMEOUT', 'timeout', { name: 'ok', timeout: '30' }],
    ['an empty queue', 400, 'INVALID_QUEUE', 'queue', { name: 'ok', queue: '' }],
    ['a queue of 101 characters', 400, 'INVALID_QUEUE', 'queue', { name: 'ok', queue: 'q'.repeat(101) }],
    ['a NUL in the queue', 400, 'NOT_JSON', 'queue', { name: 'ok', queue: 'a\u0000' }],
    ['a fractional priority', 400, 'INVALID_PRIORITY', 'priority', { name: 'ok', priority: 0.5 }],
    ['a priority past int32', 400, 'INVALID_PRIORITY', 'priority', { name: 'ok', priority: 2 ** 40 }],
    ['an unparseable runAt', 400, 'INVALID_RUN_AT', 'runAt', { name: 'ok', runAt: 'tomorrow' }],
    ['a runAt in year 0', 400, 'INVALID_RUN_AT', 'runAt', { name: 'ok', runAt: '0000-01-01T00:00:00Z' }],
    [
      'a runAt in year 200000',
      400,
      'INVALID_RUN_AT',
      'runAt',
      { name: 'ok', runAt: '+200000-01-01T00:00:00Z' },
    ],
    ['a negative delay', 400, 'INVALID_DELAY', 'delay', { name: 'ok', delay: -1 }],
    ['a huge delay', 400, 'INVALID_DELAY', 'delay', { name: 'ok', delay: 1e308 }],
    [
      'runAt and delay',
      400,
      'INVALID_OPTIONS',
      'delay',
      { name: 'ok', delay: 1, runAt: '2030-01-01T00:00:00Z' },
    ],
    ['negative maxRetries', 400, 'INVALID_MAX_RETRIES', 'maxRetries', { name: 'ok', maxRetries: -1 }],
    ['an empty uniqueKey', 400, 'INVALID_UNIQUE_KEY', 'uniqueKey', { name: 'ok', uniqueKey: '' }],
    ['an unknown option', 400, 'INVALID_OPTIONS', 'retries', { name: 'ok', retries: 3 }],
    [
      'a __proto__ option',
      400,
      'INVALID_OPTIONS',
      '__proto__',
      JSON.parse('{"name":"ok","__proto__":{"x":1}}'),
    ],
    ['a null body', 400, 'INVALID_BODY', 'body', null],
    ['a string body', 400, 'INVALID_BODY', 'body', 'app.tasks.x'],
    ['a null entry in an array', 400, 'INVALID_BODY', 'tasks[1]', [{ name: 'ok' }, null]],
    [
      'a bad entry in an array',
      400,
      'INVALID_TIMEOUT',
      'tasks[1].timeout',
      [{ name: 'ok' }, { name: 'ok', timeout: -1 }],
    ],
  ])(
    'refuses %s with %i %s naming the field, and writes nothing',
    async (_label, status, code, field, body) => {
      const before = await rowCount();
      const response = await call('POST', '/tasks', body instanceof Raw ? { raw: body.text } : { body });
      expect(response.status).toBe(status);
      expect(response.body.error.code).toBe(code);
      if (field !== undefined) expect(response.body.error.field).toBe(field);
      expect(response.body.error.message).toEqual(expect.any(String));
      expect(await rowCount()).toBe(before);
    },
  );

  it('answers 413 for a body over the limit, before parsing it', async () => {
    const small = createApp({ database: t.db, schema: t.schema, apiToken: TOKEN, maxBodyBytes: 1000 });
    const response = await call('POST', '/tasks', {
      body: { name: 'ok', args: ['x'.repeat(1000)] },
      on: small,
    });
    expect(response.status).toBe(413);
    expect(response.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', field: 'body' });
  });
});

/**
 * The HTTP API against a real Postgres, through `app.request()` (no server): auth, read,
 * wait, cancel, retry, routing and error shapes. Creating tasks: http-create.test.ts.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { Hono } from 'hono';
import { DatabaseError, type Database } from '../src/core/database.ts';
import { ConfigError } from '../src/core/errors.ts';
import { createApp } from '../src/http/index.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('http_api');
const TOKEN = 'test-token-5b0e1c';
const UNKNOWN_ID = '0000000000000000000000';

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
  options: { body?: unknown; token?: string | null; on?: Hono } = {},
): Promise<Call> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  const token = options.token === undefined ? TOKEN : options.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const response = await (options.on ?? app).request(path, { method, headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

async function setRow(id: string, assignments: string): Promise<void> {
  await t.db.query(`update ${t.schema}.tasks set ${assignments} where id = $1`, [id]);
}

describe('authentication', () => {
  it('keeps /healthz open and checks the database', async () => {
    const response = await call('GET', '/healthz', { token: null });
    expect(response).toMatchObject({ status: 200, body: { ok: true } });
  });

  it('refuses a request without a token', async () => {
    const response = await call('GET', `/tasks/${UNKNOWN_ID}`, { token: null });
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('UNAUTHORIZED');
    expect(response.headers.get('WWW-Authenticate')).toMatch(/^Bearer realm=/);
  });

  it('refuses a wrong token, and a token with another scheme', async () => {
    const wrong = await call('GET', '/stats', { token: `${TOKEN}x` });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('UNAUTHORIZED');
    expect(wrong.headers.get('WWW-Authenticate')).toContain('error="invalid_token"');
    const basic = await app.request('/stats', { headers: { Authorization: `Basic ${btoa(`u:${TOKEN}`)}` } });
    expect(basic.status).toBe(401);
    expect(await call('GET', '/stats', { token: '' })).toMatchObject({ status: 401 });
  });

  it('accepts the right token, the scheme in any case', async () => {
    expect((await call('GET', '/stats')).status).toBe(200);
    const lower = await app.request('/stats', { headers: { Authorization: `bearer ${TOKEN}` } });
    expect(lower.status).toBe(200);
  });

  it('hides unknown routes behind auth too', async () => {
    expect((await call('GET', '/nowhere', { token: null })).status).toBe(401);
  });

  it('refuses to build an app with no apiToken unless false is passed explicitly', () => {
    expect(() => createApp({ database: t.db, schema: t.schema })).toThrow(ConfigError);
    expect(() => createApp({ database: t.db, schema: t.schema, apiToken: '' })).toThrow(/apiToken/);
    expect(() => createApp({ database: t.db, schema: t.schema, apiToken: `${TOKEN}\n` })).toThrow(
      /whitespace/,
    );
    expect(() =>
      createApp({ database: t.db, schema: t.schema, apiToken: TOKEN, maxWaitSeconds: -1 }),
    ).toThrow(ConfigError);
  });

  it('serves without a token when apiToken is false', async () => {
    const open = createApp({ database: t.db, schema: t.schema, apiToken: false });
    expect((await call('GET', '/stats', { token: null, on: open })).status).toBe(200);
  });
});

describe('GET /tasks/:id', () => {
  it('returns the task as POST returned it', async () => {
    const created = await call('POST', '/tasks', { body: { name: 'app.tasks.get', args: ['a'] } });
    expect(await call('GET', `/tasks/${created.body.id}`)).toMatchObject({ status: 200, body: created.body });
  });

  it('answers 404 TASK_NOT_FOUND for an unknown id, 400 INVALID_TASK_ID for a malformed one', async () => {
    const unknown = await call('GET', `/tasks/${UNKNOWN_ID}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('TASK_NOT_FOUND');
    for (const id of [
      'short',
      `${UNKNOWN_ID}0`,
      encodeURIComponent("x' or 1=1 --"),
      'a%2Fb%2Fc%2Fd%2Fe%2Ff%2Fg%2Fh%2Fi',
    ]) {
      const malformed = await call('GET', `/tasks/${id}`);
      expect(malformed.status).toBe(400);
      expect(malformed.body.error).toMatchObject({ code: 'INVALID_TASK_ID', field: 'id' });
    }
  });
});

describe('GET /tasks/:id/wait', () => {
  it('answers at once with done: true for a finished task', async () => {
    const { body: task } = await call('POST', '/tasks', { body: { name: 'app.tasks.wait' } });
    await setRow(task.id, `status = 'COMPLETED', result = '{"ok":true}', finished_at = now()`);
    const started = Date.now();
    const response = await call('GET', `/tasks/${task.id}/wait?timeout=10`);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(response).toMatchObject({
      status: 200,
      body: { done: true, task: { status: 'COMPLETED', result: { ok: true } } },
    });
  });

  it('answers with done: false and the unfinished task when the timeout passes', async () => {
    const { body: task } = await call('POST', '/tasks', { body: { name: 'app.tasks.wait' } });
    const started = Date.now();
    const response = await call('GET', `/tasks/${task.id}/wait?timeout=0.2`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(response).toMatchObject({
      status: 200,
      body: { done: false, task: { id: task.id, status: 'PENDING' } },
    });
  });

  it('caps the timeout at maxWaitSeconds', async () => {
    const short = createApp({ database: t.db, schema: t.schema, apiToken: TOKEN, maxWaitSeconds: 0.1 });
    const { body: task } = await call('POST', '/tasks', { body: { name: 'app.tasks.wait' } });
    const started = Date.now();
    const response = await call('GET', `/tasks/${task.id}/wait?timeout=3600`, { on: short });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(response.body.done).toBe(false);
  });

  it('refuses a bad timeout, a bad id, and answers 404 for an unknown task', async () => {
    for (const timeout of ['abc', '-1', '1e3', 'Infinity', '0x10', ' 5']) {
      const response = await call('GET', `/tasks/${UNKNOWN_ID}/wait?timeout=${encodeURIComponent(timeout)}`);
      expect(response.status, timeout).toBe(400);
      expect(response.body.error).toMatchObject({ code: 'INVALID_TIMEOUT', field: 'timeout' });
    }
    expect((await call('GET', '/tasks/nope/wait?timeout=0')).body.error.code).toBe('INVALID_TASK_ID');
    expect((await call('GET', `/tasks/${UNKNOWN_ID}/wait?timeout=0`)).status).toBe(404);
  });
});

describe('POST /tasks/:id/cancel', () => {
  it('cancels a pending task, then reports the second cancel as unchanged', async () => {
    const { body: task } = await call('POST', '/tasks', { body: { name: 'app.tasks.cancel' } });
    const first = await call('POST', `/tasks/${task.id}/cancel`);
    expect(first).toMatchObject({ status: 200, body: { changed: true, task: { status: 'CANCELLED' } } });
    expect(first.body.task.finishedAt).toEqual(expect.any(String));
    const second = await call('POST', `/tasks/${task.id}/cancel`);
    expect(second).toMatchObject({ status: 200, body: { changed: false, task: first.body.task } });
  });

  it('leaves a completed task alone, and answers 404 / 400 for unknown and malformed ids', async () => {
    const { body: task } = await call('POST', '/tasks', { body: { name: 'app.tasks.cancel' } });
    await setRow(task.id, `status = 'COMPLETED', result = '7'`);
    expect(await call('POST', `/tasks/${task.id}/cancel`)).toMatchObject({
      status: 200,
      body: { changed: false, task: { status: 'COMPLETED', result: 7 } },
    });
    expect((await call('POST', `/tasks/${UNKNOWN_ID}/cancel`)).status).toBe(404);
    expect((await call('POST', '/tasks/bad/cancel')).status).toBe(400);
  });
});

describe('POST /tasks/:id/retry', () => {
  it('puts a FAILED task back to PENDING with a fresh retry budget, keeping attempt', async () => {
    const { body: task } = await call('POST', '/tasks', { body: { name: 'app.tasks.retry', maxRetries: 2 } });
    await setRow(
      task.id,
      `status = 'FAILED', retry_count = 2, attempt = 3, error = 'boom', error_type = 'Error',
       error_stack = 'at x', result = '1', progress = '{"step":2}', started_at = now() - interval '1 minute',
       finished_at = now(), duration = 1.5, run_at = now() - interval '1 hour',
       error_history = '[{"attempt":3,"message":"boom","type":"Error","at":"2025-01-01T00:00:00Z"}]'`,
    );
    const response = await call('POST', `/tasks/${task.id}/retry`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      id: task.id,
      status: 'PENDING',
      retryCount: 0,
      attempt: 3,
      error: null,
      errorType: null,
      errorStack: null,
      result: null,
      progress: null,
      startedAt: null,
      finishedAt: null,
      duration: null,
      leaseUntil: null,
      workerId: null,
    });
    expect(response.body.errorHistory).toHaveLength(1);
    const { rows } = await t.db.query(
      `select status, retry_count, attempt, run_at > now() - interval '10 seconds' as due_now from ${t.schema}.tasks where id = $1`,
      [task.id],
    );
    expect(rows[0]).toEqual({ status: 'PENDING', retry_count: 0, attempt: 3, due_now: true });
  });

  it('retries CANCELLED and COMPLETED tasks too', async () => {
    for (const status of ['CANCELLED', 'COMPLETED']) {
      const { body: task } = await call('POST', '/tasks', { body: { name: 'app.tasks.retry' } });
      await setRow(task.id, `status = '${status}', finished_at = now()`);
      expect((await call('POST', `/tasks/${task.id}/retry`)).body.status).toBe('PENDING');
    }
  });

  it('answers 409 TASK_NOT_FINAL for PENDING and PROGRESS tasks, and changes nothing', async () => {
    const { body: task } = await call('POST', '/tasks', { body: { name: 'app.tasks.retry' } });
    const pending = await call('POST', `/tasks/${task.id}/retry`);
    expect(pending.status).toBe(409);
    expect(pending.body.error.code).toBe('TASK_NOT_FINAL');
    expect(pending.body.error.message).toContain('PENDING');
    await setRow(
      task.id,
      `status = 'PROGRESS', worker_id = 'w1', attempt = 1, started_at = now(), lease_until = now() + interval '1 minute'`,
    );
    expect((await call('POST', `/tasks/${task.id}/retry`)).status).toBe(409);
    const { rows } = await t.db.query(`select status, worker_id from ${t.schema}.tasks where id = $1`, [
      task.id,
    ]);
    expect(rows[0]).toEqual({ status: 'PROGRESS', worker_id: 'w1' });
  });

  it('answers 409 UNIQUE_KEY_CONFLICT when another unfinished task holds the uniqueKey', async () => {
    const { body: old } = await call('POST', '/tasks', {
      body: { name: 'app.tasks.retry', uniqueKey: 'k:retry' },
    });
    await call('POST', `/tasks/${old.id}/cancel`);
    await call('POST', '/tasks', { body: { name: 'app.tasks.retry', uniqueKey: 'k:retry' } });
    const response = await call('POST', `/tasks/${old.id}/retry`);
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('UNIQUE_KEY_CONFLICT');
  });

  it('answers 404 for an unknown task and 400 for a malformed id', async () => {
    expect((await call('POST', `/tasks/${UNKNOWN_ID}/retry`)).body.error.code).toBe('TASK_NOT_FOUND');
    expect((await call('POST', '/tasks/x/retry')).body.error.code).toBe('INVALID_TASK_ID');
  });
});

describe('routing and unexpected errors', () => {
  it('answers 404 NOT_FOUND for an unknown path and 405 with Allow for a wrong method', async () => {
    expect(await call('GET', '/nowhere')).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' } },
    });
    const deleted = await call('DELETE', `/tasks/${UNKNOWN_ID}`);
    expect(deleted).toMatchObject({ status: 405, body: { error: { code: 'METHOD_NOT_ALLOWED' } } });
    expect(deleted.headers.get('Allow')).toBe('GET, HEAD');
    const put = await call('PUT', '/tasks');
    expect(put.status).toBe(405);
    expect(put.headers.get('Allow')?.split(', ').sort()).toEqual(['GET', 'HEAD', 'POST']);
    expect((await call('GET', `/tasks/${UNKNOWN_ID}/cancel`)).headers.get('Allow')).toBe('POST');
    // Hono's routing is strict about trailing slashes, and so is the fallback.
    expect((await call('GET', '/tasks/')).status).toBe(404);
    expect((await call('POST', `/tasks/${UNKNOWN_ID}/cancel/`)).status).toBe(404);
  });

  it('answers 500 INTERNAL without leaking the error, and hands it to onError', async () => {
    const secret = new Error('password=hunter2 at db.internal:5432');
    const broken: Database = {
      query: () => Promise.reject(secret),
      transaction: () => Promise.reject(secret),
      close: async () => undefined,
    };
    const onError = vi.fn();
    const failing = createApp({ database: broken, schema: t.schema, apiToken: TOKEN, onError });
    for (const [method, path] of [
      ['GET', '/stats'],
      ['GET', '/tasks'],
      ['GET', `/tasks/${UNKNOWN_ID}`],
      ['POST', `/tasks/${UNKNOWN_ID}/retry`],
    ] as const) {
      const response = await failing.request(path, { method, headers: { Authorization: `Bearer ${TOKEN}` } });
      const text = await response.text();
      expect(response.status).toBe(500);
      expect(JSON.parse(text)).toEqual({ error: { code: 'INTERNAL', message: 'Internal error' } });
      expect(text).not.toContain('hunter2');
    }
    expect(onError).toHaveBeenCalledTimes(4);
    expect(onError.mock.calls[0]![0]).toBe(secret);
    expect(onError.mock.calls[0]![1]).toBeInstanceOf(Request);
  });

  it('answers 503 DATABASE_UNAVAILABLE when the database cannot be reached, /healthz included', async () => {
    const down = new DatabaseError('connect ECONNREFUSED 10.0.0.7:5432', { code: '' });
    const unreachable: Database = {
      query: () => Promise.reject(down),
      transaction: () => Promise.reject(down),
      close: async () => undefined,
    };
    const onError = vi.fn();
    const failing = createApp({ database: unreachable, schema: t.schema, apiToken: TOKEN, onError });
    const health = await failing.request('/healthz');
    expect(health.status).toBe(503);
    const text = await health.text();
    expect(JSON.parse(text).error.code).toBe('DATABASE_UNAVAILABLE');
    expect(text).not.toContain('10.0.0.7');
    const stats = await failing.request('/stats', { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(stats.status).toBe(503);
    expect(stats.headers.get('Retry-After')).toBe('5');
    expect(onError).toHaveBeenCalledTimes(2);
  });

  it('keeps its auth, error shape and Location when mounted under a prefix', async () => {
    const parent = new Hono().route('/api', app);
    expect((await parent.request('/api/stats')).status).toBe(401);
    const headers = { Authorization: `Bearer ${TOKEN}` };
    const created = await parent.request('/api/tasks', {
      method: 'POST',
      headers,
      body: '{"name":"app.tasks.mounted"}',
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect(created.headers.get('Location')).toBe(`/api/tasks/${id}`);
    const missing = await parent.request('/api/tasks/bad', { headers });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('INVALID_TASK_ID');
  });

  it('survives an onError that throws', async () => {
    const broken: Database = {
      query: () => Promise.reject(new Error('x')),
      transaction: () => Promise.reject(new Error('x')),
      close: async () => undefined,
    };
    const failing = createApp({
      database: broken,
      apiToken: false,
      onError: () => {
        throw new Error('logger down');
      },
    });
    expect((await failing.request('/stats')).status).toBe(500);
  });
});

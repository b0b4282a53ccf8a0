/**
 * Inside workerd: the client over Neon HTTP, the Worker's HTTP API through `fetch`, and its
 * cron handler (the due hint, the maintainer election and sweep, inline execution) — all
 * through the local Neon and Upstash endpoints.
 */
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createClient } from '../../client/index.ts';
import { createNeonHttpDatabase } from '../../src/adapters/edge/neon-http-database.ts';
import worker from '../../worker/cloudflare.ts';
import { waitFor } from '../support/wait-for.ts';
import { Redis } from '@upstash/redis';
import { dueHintKeys } from '../../src/core/due-hint.ts';

const bindings = env as unknown as {
  DATABASE_URL: string;
  NEON_FETCH_ENDPOINT: string;
  NEON_AUTH_TOKEN: string;
  TASK_WORKER_SCHEMA: string;
  TASK_WORKER_API_TOKEN: string;
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
};

// The Worker under test (wrangler.toml `main`), as a service binding.
const self = (exports as unknown as { default: Fetcher }).default;

function client() {
  return createClient({
    databaseUrl: bindings.DATABASE_URL,
    neonFetchEndpoint: bindings.NEON_FETCH_ENDPOINT,
    neonAuthToken: bindings.NEON_AUTH_TOKEN,
    schema: bindings.TASK_WORKER_SCHEMA,
  });
}

describe('inside workerd', () => {
  it('runs in workerd', () => {
    // (The test runner itself needs Node compatibility, so `process` exists here; that the
    // Worker needs none is proven by `npm run deploy:dry-run`, built without nodejs_compat.)
    expect(navigator.userAgent).toBe('Cloudflare-Workers');
    expect(typeof WebSocketPair).toBe('function');
  });

  it('creates a task that the container worker executes, and waits for it', async () => {
    const task = await client().createTask('app.tasks.multiply_numbers', {
      args: [6, 7],
      queue: 'container',
    });
    const done = await client().waitForCompletion(task.id, { timeout: 15 });
    expect(done).toMatchObject({ status: 'COMPLETED', result: 42 });
    expect(done!.workerId).not.toMatch(/^cloudflare:/);
  });

  it('through Upstash REST: the worker wakes on task_created, the waiter on task_finished', async () => {
    // Record the Worker-side requests: the publish and the waiter's own event stream.
    const urls: string[] = [];
    const original = globalThis.fetch;
    globalThis.fetch = (input, init) => {
      urls.push(input instanceof Request ? input.url : String(input));
      return original(input, init);
    };
    try {
      const notified = createClient.fromEnv(bindings);
      const task = await notified.createTask('app.tasks.multiply_numbers', {
        args: [5, 5],
        queue: 'container',
      });
      const done = await notified.waitForCompletion(task.id, { timeout: 15 });
      expect(done).toMatchObject({ status: 'COMPLETED', result: 25 });
      await notified.close();
      const upstash = bindings.UPSTASH_REDIS_REST_URL;
      expect(urls.filter((url) => url.startsWith(upstash)).length).toBeGreaterThan(0);
      expect(urls).toContain(`${upstash}/subscribe/${bindings.TASK_WORKER_SCHEMA}:task:${task.id}`);
    } finally {
      globalThis.fetch = original;
    }
  });

  it('the scheduled handler alone executes a due task (no container serves this queue)', async () => {
    const task = await client().createTask('app.tasks.add_numbers', { args: [10, 20], queue: 'cron' });
    const report = await worker.runScheduled(bindings as never);
    expect(report.executed.completed).toBeGreaterThanOrEqual(1);
    const done = await client().getTask(task.id);
    expect(done).toMatchObject({ status: 'COMPLETED', result: 30 });
    expect(done!.workerId).toMatch(/^cloudflare:/);
  });

  it('the scheduled handler recovers a task whose lease expired, then runs it', async () => {
    const task = await client().createTask('app.tasks.multiply_numbers', {
      args: [3, 3],
      queue: 'cron',
      maxRetries: 1,
    });
    const db = createNeonHttpDatabase({
      connectionString: bindings.DATABASE_URL,
      fetchEndpoint: bindings.NEON_FETCH_ENDPOINT,
      authToken: bindings.NEON_AUTH_TOKEN,
    });
    await db.query(
      `update "${bindings.TASK_WORKER_SCHEMA}".tasks set status = 'PROGRESS', attempt = 1, worker_id = 'dead',
         lease_until = now() - interval '1 minute', started_at = now() - interval '2 minutes' where id = $1`,
      [task.id],
    );
    // Whoever leads maintenance sweeps it: this cron run, or the dev stack's container worker
    // (the two take part in one election). Then a cron run executes the retry once it is due
    // (its back-off is at most 1 s).
    const swept: string[] = [];
    const done = await waitFor(
      async () => {
        const report = await worker.runScheduled(bindings as never);
        swept.push(...report.swept.map((t) => t.id));
        const row = await client().getTask(task.id);
        return row?.status === 'COMPLETED' ? row : undefined;
      },
      { what: 'the recovered task to run', interval: 200 },
    );
    expect(done).toMatchObject({ result: 9, attempt: 2, retryCount: 1 });
    expect(done!.errorHistory).toMatchObject([{ attempt: 1, type: 'LeaseExpiredError' }]);
    expect(done!.workerId).toMatch(/^cloudflare:/);
    const { rows } = await db.query<{ holder: string }>(
      `select holder from "${bindings.TASK_WORKER_SCHEMA}".maintainer`,
    );
    expect(rows[0]?.holder).toBeTruthy();
  });

  it('an idle cron run sends no database request; a counted change or a missing hint makes the next one ask', async () => {
    const neon = new URL(bindings.NEON_FETCH_ENDPOINT).origin;
    const original = globalThis.fetch;
    let neonRequests = 0;
    globalThis.fetch = (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (url.startsWith(neon)) neonRequests++;
      return original(input, init);
    };
    try {
      // Runs until one finds nothing to do and records that in the hint.
      await waitFor(async () => (await worker.runScheduled(bindings as never)).executed.claimed === 0, {
        what: 'an idle cron run',
      });
      neonRequests = 0;
      const idle = await worker.runScheduled(bindings as never);
      expect(idle.skipped).toBe(true);
      expect(neonRequests).toBe(0);

      // A client with the Upstash bindings counts its change: the next run asks and runs it.
      const notified = createClient.fromEnv(bindings);
      const task = await notified.createTask('app.tasks.add_numbers', { args: [1, 2], queue: 'cron' });
      const asked = await worker.runScheduled(bindings as never);
      expect(asked.skipped).toBe(false);
      expect(await client().getTask(task.id)).toMatchObject({ status: 'COMPLETED', result: 3 });
      await notified.close();

      // A hint that is gone (flushed, evicted) proves nothing: the run asks the database.
      await waitFor(async () => (await worker.runScheduled(bindings as never)).skipped, {
        what: 'idle again',
      });
      const redis = new Redis({
        url: bindings.UPSTASH_REDIS_REST_URL,
        token: bindings.UPSTASH_REDIS_REST_TOKEN,
        enableTelemetry: false,
      });
      const keys = dueHintKeys(bindings.TASK_WORKER_SCHEMA);
      await redis.del(keys.checked, keys.nextAt, keys.changes);
      neonRequests = 0;
      expect((await worker.runScheduled(bindings as never)).skipped).toBe(false);
      expect(neonRequests).toBeGreaterThan(0);
    } finally {
      globalThis.fetch = original;
    }
  });

  it('serves the HTTP API through the Worker fetch handler', async () => {
    const unauthorized = await self.fetch('http://worker/tasks');
    expect(unauthorized.status).toBe(401);
    const auth = {
      authorization: `Bearer ${bindings.TASK_WORKER_API_TOKEN}`,
      'content-type': 'application/json',
    };
    const created = await self.fetch('http://worker/tasks', {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ name: 'app.tasks.multiply_numbers', args: [2, 21], queue: 'container' }),
    });
    expect(created.status).toBe(201);
    const task = (await created.json()) as { id: string };
    const waited = await self.fetch(`http://worker/tasks/${task.id}/wait?timeout=15`, { headers: auth });
    expect(await waited.json()).toMatchObject({ done: true, task: { status: 'COMPLETED', result: 42 } });
    const health = await self.fetch('http://worker/healthz');
    expect(health.status).toBe(200);
  });

  it('answers POST /run behind the API token: the cron run, for any scheduler', async () => {
    // Without a token (a missing header is not a guess, so the throttle test below is unaffected).
    expect((await self.fetch('http://worker/run', { method: 'POST' })).status).toBe(401);
    // Through Upstash, so the due hint counts the change and the run asks the database.
    const notified = createClient.fromEnv(bindings);
    const task = await notified.createTask('app.tasks.add_numbers', { args: [4, 5], queue: 'cron' });
    await notified.close();
    const response = await self.fetch('http://worker/run?budget=10', {
      method: 'POST',
      headers: { authorization: `Bearer ${bindings.TASK_WORKER_API_TOKEN}` },
    });
    expect(response.status).toBe(200);
    const report = (await response.json()) as {
      budgetMs: number;
      skipped: boolean;
      executed: { completed: number };
    };
    expect(report).toMatchObject({ budgetMs: 10_000, skipped: false });
    expect(report.executed.completed).toBeGreaterThanOrEqual(1);
    const done = await client().getTask(task.id);
    expect(done).toMatchObject({ status: 'COMPLETED', result: 9 });
    expect(done!.workerId).toMatch(/^cloudflare:/);
  });

  it('a schedule created in workerd (croner loads there) is fired and run by cron runs', async () => {
    const schedules = client().schedules;
    const created = await schedules.create('workerd-every-second', {
      cron: '* * * * * *',
      task: 'app.tasks.add_numbers',
      args: [20, 22],
      options: { queue: 'cron' },
    });
    expect(created.nextFireAt!.getTime()).toBeGreaterThan(Date.now() - 1000);
    // Cron runs (or the dev stack's worker, whichever leads maintenance) fire it; cron runs
    // execute its tasks, since no container serves the cron queue.
    const done = await waitFor(
      async () => {
        await worker.runScheduled(bindings as never);
        const listed = await schedules.get('workerd-every-second');
        if (listed?.lastTaskStatus !== 'COMPLETED') return undefined;
        return await client().getTask(listed.lastTaskId!);
      },
      { what: 'a fired task completed by a cron run', interval: 300 },
    );
    expect(done).toMatchObject({ status: 'COMPLETED', result: 42, queue: 'cron' });
    expect(done!.workerId).toMatch(/^cloudflare:/);
    await schedules.delete('workerd-every-second');
  });

  // Last in the file: it locks this client out of the isolate's API.
  it('keeps one login throttle for the isolate: wrong tokens across requests end in 429', async () => {
    const wrong = { authorization: 'Bearer not-the-token' };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await self.fetch('http://worker/tasks', { headers: wrong })).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    const locked = await self.fetch('http://worker/tasks', {
      headers: { authorization: `Bearer ${bindings.TASK_WORKER_API_TOKEN}` },
    });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

/**
 * The Next.js edge example (examples/nextjs-edge) end to end. Each route handler is bundled
 * the way Next.js bundles an edge route (for the browser platform with the `edge-light`
 * condition, so a Node built-in anywhere in its imports fails the build) and evaluated in a
 * fresh `@edge-runtime/vm` sandbox, the one Next.js runs edge routes in, with only
 * `process.env` added, as Next.js does. The handlers get the environment `task-worker dev`
 * prints and talk to the same stack: a migrated schema, the local Neon SQL-over-HTTP endpoint,
 * the local Upstash REST endpoint (on the real Redis), and an in-process container worker
 * running examples/tasks.ts.
 *
 * The run route (`app/api/run/route.ts`, what Vercel Cron calls) gets a schema of its own and
 * no container worker, so the tasks it reports are the ones it ran itself.
 *
 * Why not `// @vitest-environment edge-runtime`: outside the vm pools, vitest's edge-runtime
 * environment only copies the EdgeVM globals onto Node's global; `process.versions.node`,
 * `Buffer` and every Node built-in stay reachable, so a route that needed Node would still
 * pass. Bundling is also what resolves the example's `edge-task-worker` imports to this
 * repository's sources, so the example stays exactly what a user writes.
 */
import { EdgeVM } from '@edge-runtime/vm';
import { build, type Plugin } from 'esbuild';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type * as TaskRoute from '../examples/nextjs-edge/app/api/tasks/[id]/route.ts';
import type * as TasksRoute from '../examples/nextjs-edge/app/api/tasks/route.ts';
import type * as RunRoute from '../examples/nextjs-edge/app/api/run/route.ts';
import { createUpstashNotifier } from '../src/adapters/edge/upstash-notifier.ts';
import type { Notifier } from '../src/core/notifier.ts';
import { startNeonEndpoint, type NeonEndpoint } from '../worker/dev/neon-endpoint.ts';
import { startUpstashEndpoint, type UpstashEndpoint } from '../worker/dev/upstash-endpoint.ts';
import { newTaskId } from '../src/core/task-id.ts';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { silentLogger } from '../worker/container/logger.ts';
import { runWorker, type WorkerHandle } from '../worker/container/run-worker.ts';
import { neonConnectionString } from './support/drivers.ts';
import { deleteKeysUnder } from './support/redis-keys.ts';
import { useTestSchema } from './support/test-schema.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const example = join(root, 'examples/nextjs-edge');

// The package the example depends on, resolved to this repository's sources.
const packageEntries: Record<string, string> = {
  'edge-task-worker': join(root, 'src/core/index.ts'),
  'edge-task-worker/client': join(root, 'client/index.ts'),
  'edge-task-worker/serverless': join(root, 'worker/cron/serverless.ts'),
};
const repositorySources: Plugin = {
  name: 'edge-task-worker-sources',
  setup(bundler) {
    bundler.onResolve({ filter: /^edge-task-worker(\/client|\/serverless)?$/ }, (args) => ({
      path: packageEntries[args.path] as string,
    }));
  },
};

const bundles = new Map<string, Promise<string>>();

function bundle(route: string): Promise<string> {
  let text = bundles.get(route);
  if (!text) {
    text = build({
      entryPoints: [join(example, route)],
      bundle: true,
      write: false,
      format: 'iife',
      globalName: 'route',
      platform: 'browser',
      conditions: ['edge-light', 'worker'],
      target: 'es2022',
      logLevel: 'silent',
      plugins: [repositorySources],
    }).then((result) => (result.outputFiles[0] as { text: string }).text);
    bundles.set(route, text);
  }
  return text;
}

interface EdgeRoute<M> {
  /** The route module's exports, as evaluated in the sandbox. */
  module: M;
  vm: EdgeVM;
  /** Arguments of every `console.error` and `console.warn` call the route made. */
  logged: unknown[][];
  /** URL of every `fetch` the route made. */
  fetched: string[];
  /** A Request of the sandbox's own realm, as the edge runtime hands to a handler. */
  request(path: string, init?: { method?: string; body?: string }): Request;
}

/** Evaluates one route in a fresh edge sandbox whose `process.env` is `env`. */
async function loadEdgeRoute<M>(route: string, env: Record<string, string>): Promise<EdgeRoute<M>> {
  const logged: unknown[][] = [];
  const fetched: string[] = [];
  const vm = new EdgeVM({
    extend: (context) => {
      const log = (...args: unknown[]) => void logged.push(args);
      const console = Object.assign(Object.create(context.console) as typeof context.console, {
        error: log,
        warn: log,
      });
      const sandboxFetch = context.fetch;
      const fetch: typeof sandboxFetch = (input, init) => {
        fetched.push(input instanceof context.Request ? input.url : String(input));
        return sandboxFetch(input, init);
      };
      return Object.assign(context, { process: { env }, console, fetch });
    },
  });
  vm.evaluate(await bundle(route));
  return {
    module: vm.evaluate<M>('route'),
    vm,
    logged,
    fetched,
    request: (path, init = {}) =>
      new vm.context.Request(`http://localhost:3000${path}`, {
        ...init,
        headers: { 'content-type': 'application/json' },
      }) as unknown as Request,
  };
}

/** Status, Location and body (parsed in this realm, so matchers compare plain objects). */
async function read(response: Response) {
  return {
    status: response.status,
    location: response.headers.get('location'),
    body: JSON.parse(await response.text()) as Record<string, unknown>,
  };
}

describe('Next.js edge example', () => {
  const testSchema = useTestSchema('nextjs');
  let neon: NeonEndpoint | undefined;
  let upstash: UpstashEndpoint | undefined;
  let workerNotifier: Notifier | undefined;
  let worker: WorkerHandle | undefined;
  let env: Record<string, string>;
  let create: EdgeRoute<typeof TasksRoute>;
  let wait: EdgeRoute<typeof TaskRoute>;

  const post = (body: string) => create.module.POST(create.request('/api/tasks', { method: 'POST', body }));
  const get = (id: string, query = '') =>
    wait.module.GET(wait.request(`/api/tasks/${id}${query}`), { params: Promise.resolve({ id }) });
  const countTasks = async () =>
    Number((await testSchema.db.query(`select count(*) as n from "${testSchema.schema}".tasks`)).rows[0]?.n);

  beforeAll(async () => {
    [neon, upstash] = await Promise.all([
      startNeonEndpoint({ databaseUrl: testSchema.databaseUrl, authToken: 'nextjs-edge-neon-test' }),
      startUpstashEndpoint({ token: 'nextjs-edge-test', redisUrl: inject('redisUrl') }),
    ]);
    // What `task-worker dev` prints for `.env.local`. Events go to channels prefixed with the
    // schema name, so this file hears only its own tasks on the shared Redis.
    env = {
      DATABASE_URL: neonConnectionString(testSchema.databaseUrl),
      NEON_FETCH_ENDPOINT: neon.url,
      NEON_AUTH_TOKEN: neon.authToken,
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: upstash.token,
      TASK_WORKER_SCHEMA: testSchema.schema,
    };
    workerNotifier = createUpstashNotifier({ url: upstash.url, token: upstash.token });
    [create, wait, worker] = await Promise.all([
      loadEdgeRoute<typeof TasksRoute>('app/api/tasks/route.ts', env),
      loadEdgeRoute<typeof TaskRoute>('app/api/tasks/[id]/route.ts', env),
      runWorker({
        tasks: 'examples/tasks.ts',
        database: testSchema.db,
        schema: testSchema.schema,
        notifier: workerNotifier,
        pollInterval: 100,
        // One test creates tasks from a route without Upstash (no notification): a worker
        // serving such clients looks every second even while its notifier is connected.
        idleInterval: 1000,
        logger: silentLogger,
      }),
    ]);
  });

  afterAll(async () => {
    await worker?.stop({ grace: 1 });
    await workerNotifier?.close();
    await upstash?.close();
    await neon?.close();
    await deleteKeysUnder(inject('redisUrl'), testSchema.schema);
  });

  it('runs the handlers in the edge runtime, where Node APIs do not exist', async () => {
    expect(create.module.runtime).toBe('edge');
    expect(wait.module.runtime).toBe('edge');
    expect(create.vm.evaluate('EdgeRuntime')).toBe('edge-runtime');
    const nodeApis =
      'JSON.stringify([typeof require, typeof Buffer, typeof setImmediate, typeof process.versions])';
    expect(JSON.parse(create.vm.evaluate<string>(nodeApis))).toEqual([
      'undefined',
      'undefined',
      'undefined',
      'undefined',
    ]);
    // The handler answers with the sandbox's Response, not Node's.
    const response = await get('not-a-task-id');
    expect(response).toBeInstanceOf(wait.vm.context.Response);
    expect(response).not.toBeInstanceOf(Response);
  });

  it('POST creates a task: 201, the task as JSON, and a row in Postgres', async () => {
    const { status, location, body } = await read(
      await post(JSON.stringify({ name: 'app.tasks.multiply_numbers', args: [6, 7], timeout: 30 })),
    );
    expect(status).toBe(201);
    expect(body).toMatchObject({
      name: 'app.tasks.multiply_numbers',
      args: [6, 7],
      queue: 'default',
      timeout: 30,
    });
    expect(body.id).toMatch(/^[-0-9A-Za-z_]{22}$/);
    expect(location).toBe(`/api/tasks/${String(body.id)}`);
    const { rows } = await testSchema.db.query(
      `select name, args, kwargs, timeout from "${testSchema.schema}".tasks where id = $1`,
      [body.id],
    );
    expect(rows).toEqual([{ name: 'app.tasks.multiply_numbers', args: [6, 7], kwargs: {}, timeout: 30 }]);
  });

  // `request.json()` here (as in `next dev`, vercel/next.js#38184) builds objects in the host
  // realm; the client accepts plain objects of any realm.
  it('accepts kwargs parsed by request.json(), objects of another realm', async () => {
    const created = await read(
      await post(JSON.stringify({ name: 'app.tasks.greet', kwargs: { name: 'Ada' } })),
    );
    expect(created.status).toBe(201);
    const { body } = await read(await get(String(created.body.id), '?timeout=15'));
    expect(body).toMatchObject({ done: true, task: { status: 'COMPLETED', result: 'Hello, Ada!' } });
  });

  it('GET waits for the container worker and returns the COMPLETED task with its result', async () => {
    const created = await read(
      await post(JSON.stringify({ name: 'app.tasks.multiply_numbers', args: [6, 7] })),
    );
    const id = String(created.body.id);
    const { status, body } = await read(await get(id, '?timeout=15'));
    expect(status).toBe(200);
    expect(body).toMatchObject({ done: true, task: { id, status: 'COMPLETED', result: 42, attempt: 1 } });
    // With the dev environment, POST announced the task over Upstash REST and GET waited on
    // the task's own channel (server-sent events) rather than by polling alone.
    const upstashUrl = upstash!.url;
    expect(create.fetched.some((url) => url.startsWith(upstashUrl))).toBe(true);
    expect(wait.fetched).toContain(`${upstashUrl}/subscribe/${testSchema.schema}:task:${id}`);
    expect(wait.logged).toEqual([]);
  });

  it('without Upstash (polling only) GET still returns the COMPLETED task', async () => {
    const { UPSTASH_REDIS_REST_URL: _url, UPSTASH_REDIS_REST_TOKEN: _token, ...pollingEnv } = env;
    const [pollingCreate, pollingWait] = await Promise.all([
      loadEdgeRoute<typeof TasksRoute>('app/api/tasks/route.ts', pollingEnv),
      loadEdgeRoute<typeof TaskRoute>('app/api/tasks/[id]/route.ts', pollingEnv),
    ]);
    const created = await read(
      await pollingCreate.module.POST(
        pollingCreate.request('/api/tasks', {
          method: 'POST',
          body: JSON.stringify({ name: 'app.tasks.add_numbers', args: [10, 20] }),
        }),
      ),
    );
    const id = String(created.body.id);
    const { body } = await read(
      await pollingWait.module.GET(pollingWait.request(`/api/tasks/${id}?timeout=15`), {
        params: Promise.resolve({ id }),
      }),
    );
    expect(body).toMatchObject({ done: true, task: { id, status: 'COMPLETED', result: 30 } });
    expect(pollingWait.fetched.every((url) => url === neon!.url)).toBe(true);
  });

  it('GET answers done: false with the task as it is when the wait times out', async () => {
    const created = await read(
      await post(JSON.stringify({ name: 'app.tasks.multiply_numbers', args: [1, 2], delay: 3600 })),
    );
    const { status, body } = await read(await get(String(created.body.id), '?timeout=0.2'));
    expect(status).toBe(200);
    expect(body).toMatchObject({ done: false, task: { id: created.body.id, status: 'PENDING' } });
  });

  it('a bad body is a 400 naming the field, and stores nothing', async () => {
    const before = await countTasks();
    const cases: [body: string, code: string, field: string][] = [
      [JSON.stringify({ args: [6, 7] }), 'INVALID_NAME', 'name'],
      [JSON.stringify({ name: 'app.tasks.multiply_numbers', args: 'six, seven' }), 'INVALID_ARGS', 'args'],
      [JSON.stringify({ name: 'app.tasks.multiply_numbers', timeout: -1 }), 'INVALID_TIMEOUT', 'timeout'],
      [JSON.stringify({ name: 'app.tasks.multiply_numbers', colour: 'red' }), 'INVALID_OPTIONS', 'colour'],
      [JSON.stringify([{ name: 'app.tasks.multiply_numbers' }]), 'INVALID_BODY', 'body'],
      ['{"name": ', 'INVALID_JSON', 'body'],
    ];
    for (const [text, code, field] of cases) {
      const { status, body } = await read(await post(text));
      expect({ text, status, body }).toMatchObject({
        text,
        status: 400,
        body: { error: { code, field, message: expect.any(String) } },
      });
    }
    expect(await countTasks()).toBe(before);
    expect(create.logged).toEqual([]);
  });

  it('GET of an unknown id is a 404', async () => {
    const { status, body } = await read(await get(newTaskId()));
    expect(status).toBe(404);
    expect(body).toMatchObject({ error: { code: 'TASK_NOT_FOUND' } });
  });

  it('GET of a malformed id or timeout is a 400 naming it', async () => {
    const badId = await read(await get('not-a-task-id'));
    expect(badId).toMatchObject({ status: 400, body: { error: { code: 'INVALID_TASK_ID', field: 'id' } } });
    const badTimeout = await read(await get(newTaskId(), '?timeout=soon'));
    expect(badTimeout).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_TIMEOUT', field: 'timeout' } },
    });
    expect(wait.logged).toEqual([]);
  });

  it('any other error is a bare 500 that leaks nothing, and is logged', async () => {
    // A schema that does not exist: Postgres answers with an error naming the relation.
    const broken = await loadEdgeRoute<typeof TasksRoute>('app/api/tasks/route.ts', {
      ...env,
      TASK_WORKER_SCHEMA: `${testSchema.schema}_missing`,
    });
    const response = await broken.module.POST(
      broken.request('/api/tasks', {
        method: 'POST',
        body: JSON.stringify({ name: 'app.tasks.multiply_numbers' }),
      }),
    );
    const { status, body } = await read(response);
    expect(status).toBe(500);
    expect(body).toEqual({ error: { code: 'INTERNAL', message: 'Internal error' } });
    expect(broken.logged).toHaveLength(1);
    expect(String(broken.logged[0]?.[0])).toContain('_missing');
  });
});

describe('Next.js run route (Vercel Cron)', () => {
  const testSchema = useTestSchema('nextjs_run');
  const secret = 'nextjs-run-cron-secret';
  let neon: NeonEndpoint | undefined;
  let run: EdgeRoute<typeof RunRoute>;

  const call = (method: string, authorization?: string) =>
    run.module[method as 'GET' | 'POST'](
      new run.vm.context.Request('http://localhost:3000/api/run?budget=10', {
        method,
        headers: authorization ? { authorization } : {},
      }) as unknown as Request,
    );

  beforeAll(async () => {
    neon = await startNeonEndpoint({
      databaseUrl: testSchema.databaseUrl,
      authToken: 'nextjs-run-neon-test',
    });
    run = await loadEdgeRoute<typeof RunRoute>('app/api/run/route.ts', {
      DATABASE_URL: neonConnectionString(testSchema.databaseUrl),
      NEON_FETCH_ENDPOINT: neon.url,
      NEON_AUTH_TOKEN: neon.authToken,
      TASK_WORKER_SCHEMA: testSchema.schema,
      CRON_SECRET: secret,
    });
  });

  afterAll(async () => {
    await neon?.close();
  });

  it('declares its time limit, and bundles and runs without Node APIs', () => {
    expect(run.module.maxDuration).toBe(60);
    expect(run.module.runtime).toBe('nodejs');
    expect(typeof run.module.GET).toBe('function');
    expect(typeof run.module.POST).toBe('function');
  });

  it('runs the due tasks when called with CRON_SECRET, as Vercel Cron does (GET)', async () => {
    expect((await call('GET')).status).toBe(401);
    expect((await call('GET', 'Bearer not-the-secret')).status).toBe(401);
    const client = createTaskClient({ database: testSchema.db, schema: testSchema.schema });
    const task = await client.createTask('app.tasks.multiply_numbers', { args: [6, 7] });
    const { status, body } = await read(await call('GET', `Bearer ${secret}`));
    expect(status).toBe(200);
    expect(body).toMatchObject({ budgetMs: 10_000, leading: true, executed: { claimed: 1, completed: 1 } });
    expect(await client.getTask(task.id)).toMatchObject({ status: 'COMPLETED', result: 42 });
    const again = await read(await call('POST', `Bearer ${secret}`));
    expect(again).toMatchObject({ status: 200, body: { executed: { claimed: 0 } } });
    expect(run.logged).toEqual([]);
  });
});

/**
 * A container worker's metrics, served by its metrics server: what it counts per queue and
 * task (runs started, completed, retried, failed, stopped by a cancel, recovered from a lost
 * lease), its histograms and gauges, and the server's refusals (other host names, web pages,
 * other paths and methods; no listening beyond loopback without a token). A real worker on a
 * real Postgres, in-process for speed (`isolation: 'none'`).
 */
import { request, type IncomingHttpHeaders } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.ts';
import { createMetricsRegistry } from '../src/core/metrics/metrics-registry.ts';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { silentLogger } from '../worker/container/logger.ts';
import { startMetricsServer, type MetricsServer } from '../worker/container/metrics-server.ts';
import { runWorker, type WorkerHandle } from '../worker/container/run-worker.ts';
import { useTestSchema } from './support/test-schema.ts';
import { waitFor } from './support/wait-for.ts';

const t = useTestSchema('metrics_worker');
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function sample(text: string, key: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${key} `));
  return line === undefined ? undefined : Number(line.slice(key.length + 1));
}

/** A request through node:http, which (unlike fetch) sends the `Host` it is given. */
async function get(
  server: MetricsServer,
  init: { path?: string; method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string; headers: IncomingHttpHeaders }> {
  return await new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port: server.port, path: init.path ?? '/metrics', ...init };
    const req = request(options, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, text, headers: response.headers }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a worker with metrics', () => {
  it('counts its runs and outcomes per queue and task, and serves them to loopback scrapes', async () => {
    const client = createTaskClient({ database: t.db, schema: t.schema });
    // A task whose worker died holding it: the maintainer recovers it, then it runs here.
    const lost = await client.createTask('test.multiply', { args: [2, 3], queue: 'q', maxRetries: 1 });
    await t.db.query(
      `update ${t.schema}.tasks set status = 'PROGRESS', attempt = 1, worker_id = 'gone',
       lease_until = now() - interval '1 second' where id = $1`,
      [lost.id],
    );
    for (let i = 0; i < 3; i++) await client.createTask('test.multiply', { args: [i, 2], queue: 'q' });
    await client.createTask('test.fail_once', { queue: 'q', maxRetries: 1 });
    await client.createTask('test.non_retryable', { queue: 'q', maxRetries: 3 });

    const registry = createMetricsRegistry();
    const server = await startMetricsServer({ registry, port: 0 });
    cleanups.push(() => server.close());
    const worker: WorkerHandle = await runWorker({
      ...{ tasks: 'test/fixtures/tasks.ts', database: t.db, schema: t.schema, logger: silentLogger },
      ...{ concurrency: 2, isolation: 'none', pollInterval: 50, lease: 1.5 },
      backoff: { baseSeconds: 0.1, maxSeconds: 0.1 },
      metrics: { registry, cacheSeconds: 0 },
    });
    cleanups.push(() => worker.stop({ grace: 0 }));
    const unfinished = async () =>
      Number(
        (await t.db.query(`select count(*) from ${t.schema}.tasks where status in ('PENDING', 'PROGRESS')`))
          .rows[0]!.count,
      );
    await waitFor(async () => (await unfinished()) === 0, { what: 'every task final' });

    // Cancelled while it runs: the worker stops the run (found at its next heartbeat).
    const slow = await client.createTask('test.sleep', { args: [20_000], queue: 'slow' });
    await waitFor(async () => (await client.getTask(slow.id))?.status === 'PROGRESS', {
      what: 'the slow task running',
    });
    await client.cancelTask(slow.id);

    const text = await waitFor(
      async () => {
        const { text } = await get(server);
        return sample(text, 'task_worker_runs_cancelled_total{queue="slow",task="test.sleep"}') === 1 && text;
      },
      { what: 'the cancel counted' },
    );
    const byTask = (name: string, task: string) => sample(text, `${name}{queue="q",task="${task}"}`);
    expect(byTask('task_worker_tasks_started_total', 'test.multiply')).toBe(4);
    expect(byTask('task_worker_tasks_completed_total', 'test.multiply')).toBe(4);
    expect(byTask('task_worker_tasks_retried_total', 'test.fail_once')).toBe(1);
    expect(byTask('task_worker_tasks_completed_total', 'test.fail_once')).toBe(1);
    expect(byTask('task_worker_tasks_failed_total', 'test.non_retryable')).toBe(1);
    expect(byTask('task_worker_task_duration_seconds_count', 'test.multiply')).toBe(4);
    expect(
      sample(text, 'task_worker_tasks_recovered_total{queue="q",task="test.multiply",outcome="requeued"}'),
    ).toBe(1);
    // Claims: 4 multiply runs, 2 of fail_once, 1 of non_retryable.
    expect(sample(text, 'task_worker_task_wait_seconds_count{queue="q"}')).toBe(7);
    expect(sample(text, 'task_worker_claim_batch_size_count')).toBeGreaterThan(0);
    expect(
      sample(text, 'task_worker_worker_slots{state="busy"}')! +
        sample(text, 'task_worker_worker_slots{state="idle"}')!,
    ).toBe(2);
    expect(sample(text, 'task_worker_notifier_up')).toBe(0);
    expect(sample(text, 'task_worker_queue_tasks{queue="q",status="FAILED"}')).toBe(1);
    expect(sample(text, 'task_worker_queue_tasks{queue="slow",status="CANCELLED"}')).toBe(1);

    // Refused: another host name (DNS rebinding), a web page, other paths and methods.
    expect((await get(server, { headers: { Host: 'rebind.example' } })).status).toBe(421);
    expect((await get(server, { headers: { Origin: 'http://evil.example' } })).status).toBe(403);
    expect((await get(server, { path: '/tasks' })).status).toBe(404);
    expect((await get(server, { method: 'POST' })).status).toBe(405);
  });

  it('needs a token to listen beyond loopback, and then on every scrape', async () => {
    const registry = createMetricsRegistry();
    await expect(startMetricsServer({ registry, port: 0, host: '0.0.0.0' })).rejects.toThrow(ConfigError);
    const server = await startMetricsServer({ registry, port: 0, host: '0.0.0.0', token: 'scrape-7b1' });
    cleanups.push(() => server.close());
    expect((await get(server)).status).toBe(401);
    expect((await get(server, { headers: { Authorization: 'Bearer scrape-7' } })).status).toBe(401);
    // With the token, any host name: a rebinding page cannot send the token.
    const headers = { Authorization: 'Bearer scrape-7b1', Host: 'worker-3.internal' };
    expect((await get(server, { headers })).status).toBe(200);
    await expect(startMetricsServer({ registry, port: server.port, token: 'x' })).rejects.toThrow(
      ConfigError,
    );
  });

  it('locks out an address that keeps sending wrong tokens, even from the right one, for a while', async () => {
    const registry = createMetricsRegistry();
    let now = 1_000_000;
    const server = await startMetricsServer({
      ...{ registry, port: 0, token: 'scrape-7b1' },
      authThrottle: { maxFailures: 3, lockoutSeconds: 2, now: () => now },
    });
    cleanups.push(() => server.close());
    const wrong = { headers: { Authorization: 'Bearer guess' } };
    const right = { headers: { Authorization: 'Bearer scrape-7b1' } };
    expect((await get(server, wrong)).status).toBe(401);
    expect((await get(server, wrong)).status).toBe(401);
    const third = await get(server, wrong);
    expect(third.status).toBe(429);
    expect(third.headers['retry-after']).toBe('2');
    // Locked out: the right token is not even looked at.
    expect((await get(server, right)).status).toBe(429);
    now += 2_001;
    expect((await get(server, right)).status).toBe(200);
    // A success forgets the failures: two wrong ones do not lock it out again.
    expect((await get(server, wrong)).status).toBe(401);
    expect((await get(server, wrong)).status).toBe(401);
  });
});

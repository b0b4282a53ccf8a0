/**
 * The metrics as an operator sees them: a real Prometheus (Debian's `prometheus`, on a free
 * port, scraping every second) scrapes a real `task-worker dev` (its API's /metrics, with the
 * API token, shows the API's counts and its in-process worker's) and a real
 * `task-worker run --metrics-port` (loopback, no token). After a known workload, queries through
 * Prometheus' HTTP API return the expected series: per target, summed across targets, and the
 * queue gauges that every target reports alike.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './support/services.ts';
import { freeDevPorts, startDevProcess, type DevProcess } from './support/dev-process.ts';
import { useTestSchema } from './support/test-schema.ts';
import { waitFor } from './support/wait-for.ts';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.ts';

const t = useTestSchema('metrics_prom');
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** Starts Prometheus with `config` on a free port; resolves once it is ready. */
async function startPrometheus(dir: string, config: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  await writeFile(join(dir, 'prometheus.yml'), config);
  const child = spawn(
    process.env.PROMETHEUS_BIN ?? 'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  // A binary that cannot start emits 'error' and never 'exit'.
  const exited = new Promise((resolve) => {
    child.once('exit', resolve);
    child.once('error', resolve);
  });
  cleanups.push(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited: ${errors}`);
      return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok;
    },
    { what: 'Prometheus ready', timeout: 10_000 },
  );
  return { url, child };
}

/** Each start's value, once every start has settled (and registered its clean-up). */
async function allStarted<T extends readonly unknown[]>(
  starts: readonly [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const settled = await Promise.allSettled(starts);
  for (const result of settled) if (result.status === 'rejected') throw result.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** An instant query's samples, as `{labels…}: value` pairs. */
async function query(prometheus: string, promql: string): Promise<Array<[Record<string, string>, number]>> {
  const response = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as {
    data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    error?: string;
  };
  if (!body.data) throw new Error(`${promql}: ${body.error}`);
  return body.data.result.map((r) => [r.metric, Number(r.value[1])]);
}

describe('metrics scraped by Prometheus', () => {
  it('shows a known workload of task-worker dev and a task-worker run worker', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etw-prom-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const [devPorts, workerPort] = await Promise.all([freeDevPorts(), freePort()]);
    // Prometheus starts with the others: its first scrape comes about 5 s after its start (target
    // discovery). The dev API's token is known once dev is up: it goes in a file Prometheus reads
    // per scrape, missing until then (a scrape then sends nothing, rather than a wrong token the
    // API's throttle would count against 127.0.0.1, this test's own address too).
    const credentials = join(dir, 'api-token');
    const config = `global: { scrape_interval: 1s, scrape_timeout: 1s }
scrape_configs:
  - job_name: dev
    authorization: { credentials_file: ${credentials} }
    static_configs: [{ targets: ['127.0.0.1:${devPorts.port}'] }]
  - job_name: worker
    static_configs: [{ targets: ['127.0.0.1:${workerPort}'] }]
`;
    // allSettled: a start that fails (no prometheus binary) must not leave the others running
    // unregistered for clean-up.
    const [prometheus, dev, worker] = await allStarted([
      startPrometheus(dir, config),
      // The dev stack's worker serves queue "dev", the other worker queue "work".
      startDevProcess({
        dataDir: join(dir, 'data'),
        ports: devPorts,
        tasks: 'test/fixtures/tasks.ts',
        args: ['--schema', t.schema, '--queues', 'dev', '--concurrency', '2'],
        env: { DATABASE_URL: t.databaseUrl },
      }).then((started: DevProcess) => (cleanups.push(() => started.stop()), started)),
      (async (): Promise<WorkerProcess> => {
        const started = startWorkerProcess({
          databaseUrl: t.databaseUrl,
          schema: t.schema,
          // No notifier: it polls (notifier_up 0), every 100 ms. Its queue gauges are cached for
          // 0.5 s, so a scrape before the workload does not hide it for long.
          args: [
            ...['--queues', 'work', '--notifier', 'none', '--poll-interval', '100'],
            ...['--metrics-port', String(workerPort), '--metrics-cache', '0.5'],
          ],
        });
        cleanups.push(async () => {
          started.child.kill('SIGTERM');
          await started.exited;
        });
        await started.waitFor('worker_started');
        return started;
      })(),
    ]);
    await writeFile(credentials, dev.env.TASK_WORKER_API_TOKEN!);
    const listening = await worker.waitFor('metrics_listening');
    expect(listening.url).toBe(`http://127.0.0.1:${workerPort}/metrics`);

    // The workload, through the dev API: 3 + 1 tasks for its worker, 4 + 1 for the other,
    // and 2 delayed by an hour that nobody runs yet.
    const api = dev.env.TASK_WORKER_API_URL!;
    const multiply = (queue: string) => ({ name: 'test.multiply', args: [2, 3], queue });
    const body = [
      ...[1, 2, 3].map(() => multiply('dev')),
      { name: 'test.fail', args: ['boom'], queue: 'dev', maxRetries: 0 },
      ...[1, 2, 3, 4].map(() => multiply('work')),
      { name: 'test.non_retryable', queue: 'work' },
      ...[1, 2].map(() => ({ name: 'test.noop', queue: 'later', delay: 3600 })),
    ];
    const headers = {
      authorization: `Bearer ${dev.env.TASK_WORKER_API_TOKEN}`,
      'content-type': 'application/json',
    };
    const created = await fetch(`${api}/tasks`, { method: 'POST', headers, body: JSON.stringify(body) });
    expect(created.status).toBe(201);
    const ids = ((await created.json()) as Array<{ id: string }>).map((task) => task.id).slice(0, 9);
    const waited = await Promise.all(
      ids.map(async (id) => (await fetch(`${api}/tasks/${id}/wait?timeout=15`, { headers })).json()),
    );
    expect(waited.map((answer) => (answer as { done: boolean }).done)).toEqual(ids.map(() => true));

    const expected: Array<[string, Array<[Record<string, string>, number]>]> = [
      [
        'up',
        [
          [{ job: 'dev' }, 1],
          [{ job: 'worker' }, 1],
        ],
      ],
      ['sum by (job) (task_worker_tasks_created_total)', [[{ job: 'dev' }, 11]]],
      [
        'sum by (job) (task_worker_tasks_completed_total)',
        [
          [{ job: 'dev' }, 3],
          [{ job: 'worker' }, 4],
        ],
      ],
      [
        'sum by (job, task) (task_worker_tasks_failed_total)',
        [
          [{ job: 'dev', task: 'test.fail' }, 1],
          [{ job: 'worker', task: 'test.non_retryable' }, 1],
        ],
      ],
      ['sum(task_worker_task_duration_seconds_count)', [[{}, 9]]],
      [
        'sum by (queue) (task_worker_task_wait_seconds_count)',
        [
          [{ queue: 'dev' }, 4],
          [{ queue: 'work' }, 5],
        ],
      ],
      [
        'task_worker_notifier_up',
        [
          [{ job: 'dev' }, 1],
          [{ job: 'worker' }, 0],
        ],
      ],
      // Same database, same value on both targets: max, not sum.
      ['max(task_worker_queue_tasks{queue="later",status="PENDING"})', [[{}, 2]]],
      ['count(task_worker_queue_tasks{queue="later",status="PENDING"} == 2)', [[{}, 2]]],
      // A queue seen once reports 0, not nothing.
      [
        'max by (queue) (task_worker_queue_tasks{status="FAILED"})',
        [
          [{ queue: 'dev' }, 1],
          [{ queue: 'later' }, 0],
          [{ queue: 'work' }, 1],
        ],
      ],
    ];
    const mismatches = async () => {
      const wrong: string[] = [];
      await Promise.all(
        expected.map(async ([promql, want]) => {
          const got = (await query(prometheus.url, promql)).map(
            ([metric, value]) =>
              [Object.fromEntries(Object.keys(want[0]![0]).map((key) => [key, metric[key]])), value] as const,
          );
          const sort = (rows: ReadonlyArray<readonly [Record<string, unknown>, number]>) =>
            JSON.stringify(rows.map((row) => JSON.stringify(row)).sort());
          if (sort(got) !== sort(want))
            wrong.push(`${promql}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
        }),
      );
      return wrong;
    };
    let last: string[] = [];
    await waitFor(async () => (last = await mismatches()).length === 0, {
      what: 'the expected series in Prometheus',
      timeout: 15_000,
      interval: 250,
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n${last.join('\n')}`);
    });
  }, 60_000);
});

/**
 * `task-worker dev` as a new user runs it: a child process on a machine with no Postgres
 * configured (embedded Postgres in a temporary data folder), driven over its HTTP API and with
 * the real `neon()` and `@upstash/redis` clients pointed at the endpoints it prints.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { neon, neonConfig } from '@neondatabase/serverless';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeDevPorts, startDevProcess, type DevProcess } from './support/dev-process.ts';

let dataDir: string;
let ports: Record<string, number>;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'etw-dev-'));
  ports = await freeDevPorts();
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const startDev = () => startDevProcess({ dataDir, ports });

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function api(dev: DevProcess, method: string, path: string, body?: unknown) {
  const response = await fetch(`${dev.env.TASK_WORKER_API_URL}${path}`, {
    method,
    headers: { authorization: `Bearer ${dev.env.TASK_WORKER_API_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('task-worker dev', () => {
  let firstTaskId: string;

  it('starts everything and prints the environment of an edge app', async () => {
    const dev = await startDev();
    try {
      expect(Object.keys(dev.env).sort()).toEqual(
        [
          'DATABASE_URL',
          'NEON_FETCH_ENDPOINT',
          'TASK_WORKER_API_TOKEN',
          'TASK_WORKER_API_URL',
          'TASK_WORKER_SCHEMA',
          'UPSTASH_REDIS_REST_TOKEN',
          'UPSTASH_REDIS_REST_URL',
        ].sort(),
      );

      // Over the HTTP API, with the token: create, then wait for the result.
      expect((await fetch(`${dev.env.TASK_WORKER_API_URL}/tasks`)).status).toBe(401);
      const created = await api(dev, 'POST', '/tasks', { name: 'app.tasks.multiply_numbers', args: [2, 3] });
      expect(created.status).toBe(201);
      firstTaskId = created.body.id as string;
      const waited = await api(dev, 'GET', `/tasks/${firstTaskId}/wait?timeout=20`);
      expect(waited.body).toMatchObject({ done: true, task: { status: 'COMPLETED', result: 6 } });

      // The real neon() client against the printed endpoint creates a task; the real Upstash
      // client, subscribed to that task's channel, receives its completion event.
      neonConfig.fetchEndpoint = dev.env.NEON_FETCH_ENDPOINT!;
      const sql = neon(dev.env.DATABASE_URL!);
      const redis = new Redis({
        url: dev.env.UPSTASH_REDIS_REST_URL!,
        token: dev.env.UPSTASH_REDIS_REST_TOKEN!,
        enableTelemetry: false,
        automaticDeserialization: false,
      });
      const id = `devneon${Date.now().toString().padStart(15, '0')}`.slice(0, 22);
      const channel = `${dev.env.TASK_WORKER_SCHEMA}:task:${id}`;
      const subscriber = redis.subscribe<string>([channel]);
      const events: Array<Record<string, unknown>> = [];
      subscriber.on('message', ({ message }) =>
        events.push(typeof message === 'string' ? JSON.parse(message) : (message as Record<string, unknown>)),
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      await sql.query(
        `insert into ${dev.env.TASK_WORKER_SCHEMA}.tasks (id, name, args) values ($1, 'app.tasks.multiply_numbers', '[7, 6]')`,
        [id],
      );
      const deadline = Date.now() + 20_000;
      while (!events.some((event) => event.event === 'task_finished') && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await subscriber.unsubscribe();
      expect(events.find((event) => event.event === 'task_finished')).toMatchObject({
        taskId: id,
        status: 'COMPLETED',
      });
      const [row] = (await sql.query(
        `select status, result from ${dev.env.TASK_WORKER_SCHEMA}.tasks where id = $1`,
        [id],
      )) as Array<{ status: string; result: unknown }>;
      expect(row).toEqual({ status: 'COMPLETED', result: 42 });
    } finally {
      expect(await dev.stop()).toBe(0);
    }
    // Ctrl-C stopped every server and the embedded Postgres.
    for (const port of Object.values(ports)) expect(await portOpen(port)).toBe(false);
  }, 120_000);

  it('SIGTERM while it starts: it still stops everything, the embedded Postgres included, and exits 0', async () => {
    const child = spawn(
      process.execPath,
      [
        'bin/task-worker.js',
        'dev',
        '--data-dir',
        dataDir,
        ...Object.entries(ports).flatMap(([name, port]) => [`--${name}`, String(port)]),
      ],
      { env: { ...process.env, DATABASE_URL: '', REDIS_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const firstOutput = new Promise<void>((resolve) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
    });
    const exited = new Promise<number | string | null>((resolve) =>
      child.on('exit', (code, signal) => resolve(code ?? signal)),
    );
    // Its first log line comes while the embedded Postgres is still starting.
    await firstOutput;
    expect(output).not.toContain('edge-task-worker dev is ready');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const port of Object.values(ports)) expect(await portOpen(port)).toBe(false);
  }, 120_000);

  it('a second start finds the tasks of the first', async () => {
    const dev = await startDev();
    try {
      const found = await api(dev, 'GET', `/tasks/${firstTaskId}`);
      expect(found.body).toMatchObject({ id: firstTaskId, status: 'COMPLETED', result: 6 });
    } finally {
      expect(await dev.stop()).toBe(0);
    }
  }, 120_000);
});

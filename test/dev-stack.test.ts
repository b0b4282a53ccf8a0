/**
 * `task-worker dev` as a new user runs it: a child process on a machine with no Postgres
 * configured (embedded Postgres in a temporary data folder), driven over its HTTP API and with
 * the real `neon()` and `@upstash/redis` clients pointed at the endpoints it prints.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { neon, neonConfig } from '@neondatabase/serverless';
import { Redis } from '@upstash/redis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevPostgres } from '../worker/dev/embedded-postgres.ts';
import { freeDevPorts, portOpen, startDevProcess, type DevProcess } from './support/dev-process.ts';

let dataDir: string;
let ports: Record<string, number>;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'etw-dev-'));
  ports = await freeDevPorts();
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const startDev = (
  options: { tasks?: false; dataDir?: string; args?: string[]; env?: Record<string, string> } = {},
) => startDevProcess({ dataDir, ports, ...options });

async function mode(file: string): Promise<string> {
  return ((await stat(join(dataDir, file))).mode & 0o777).toString(8);
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
          'NEON_AUTH_TOKEN',
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
      const sql = neon(dev.env.DATABASE_URL!, { authToken: dev.env.NEON_AUTH_TOKEN! });
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

      // The tokens and the database password are for this user only.
      expect(await mode('dev.env')).toBe('600');
      expect(await mode('secrets.json')).toBe('600');
    } finally {
      expect(await dev.stop()).toBe(0);
    }
    // Ctrl-C stopped every server and the embedded Postgres.
    for (const port of Object.values(ports)) expect(await portOpen(port)).toBe(false);
  }, 120_000);

  it('the Neon endpoint and DATABASE_URL use a role that owns the task schema and nothing else', async () => {
    const dev = await startDev();
    try {
      neonConfig.fetchEndpoint = dev.env.NEON_FETCH_ENDPOINT!;
      const sql = neon(dev.env.DATABASE_URL!, { authToken: dev.env.NEON_AUTH_TOKEN! });
      expect(new URL(dev.env.DATABASE_URL!).username).toBe('task_worker_dev');
      const [me] = (await sql.query(
        `select current_user as name, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls,
           (select count(*)::int from pg_auth_members where member = r.oid) as memberships,
           (select nspowner::regrole::text from pg_namespace where nspname = $1) as schema_owner,
           (select tableowner from pg_tables where schemaname = $1 and tablename = 'tasks') as table_owner
         from pg_roles r where rolname = current_user`,
        [dev.env.TASK_WORKER_SCHEMA],
      )) as Array<Record<string, unknown>>;
      expect(me).toEqual({
        name: 'task_worker_dev',
        rolsuper: false,
        rolcreatedb: false,
        rolcreaterole: false,
        rolreplication: false,
        rolbypassrls: false,
        memberships: 0,
        schema_owner: 'task_worker_dev',
        table_owner: 'task_worker_dev',
      });
      // As the superuser, this ran a shell command on the database server.
      await expect(sql.query(`copy (select 1) to program 'true'`)).rejects.toMatchObject({ code: '42501' });
      await expect(sql.query(`select pg_read_file('postgresql.conf')`)).rejects.toMatchObject({
        code: '42501',
      });
      // Tasks are created and read as this role, through the Neon endpoint and the HTTP API.
      const id = `devrole${Date.now().toString().padStart(15, '0')}`.slice(0, 22);
      await sql.query(
        `insert into ${dev.env.TASK_WORKER_SCHEMA}.tasks (id, name, args) values ($1, 'app.tasks.multiply_numbers', '[4, 5]')`,
        [id],
      );
      const waited = await api(dev, 'GET', `/tasks/${id}/wait?timeout=20`);
      expect(waited.body).toMatchObject({ done: true, task: { status: 'COMPLETED', result: 20 } });
      const created = await api(dev, 'POST', '/tasks', { name: 'app.tasks.add_numbers', args: [[1, 2]] });
      expect(created.status).toBe(201);
    } finally {
      expect(await dev.stop()).toBe(0);
    }
  }, 120_000);

  it('without --tasks it runs no worker and says so: a task created through the API stays PENDING', async () => {
    const dev = await startDev({ tasks: false });
    try {
      expect(dev.output()).toContain(
        'Worker         none: pass --tasks ./tasks.ts, or run `task-worker run --tasks ./tasks.ts` with the environment below',
      );
      expect(dev.output()).not.toContain('worker_started');
      const created = await api(dev, 'POST', '/tasks', { name: 'app.tasks.multiply_numbers', args: [2, 3] });
      expect(created.status).toBe(201);
      const waited = await api(dev, 'GET', `/tasks/${created.body.id as string}/wait?timeout=2`);
      expect(waited.body).toMatchObject({ done: false, task: { status: 'PENDING' } });
    } finally {
      expect(await dev.stop()).toBe(0);
    }
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

  it('a second start finds the tasks of the first, and makes a world-readable dev.env private', async () => {
    await chmod(join(dataDir, 'dev.env'), 0o644);
    await chmod(join(dataDir, 'secrets.json'), 0o644);
    const dev = await startDev();
    try {
      expect(await mode('dev.env')).toBe('600');
      expect(await mode('secrets.json')).toBe('600');
      const found = await api(dev, 'GET', `/tasks/${firstTaskId}`);
      expect(found.body).toMatchObject({ id: firstTaskId, status: 'COMPLETED', result: 6 });
    } finally {
      expect(await dev.stop()).toBe(0);
    }
  }, 120_000);

  it('with DATABASE_URL: the role when its user may create roles; otherwise a warning and the given URL', async () => {
    // The embedded cluster of this file stands in for a user's Postgres.
    const postgres = await startDevPostgres({ dataDir, port: ports['postgres-port']! });
    const otherDataDir = await mkdtemp(join(tmpdir(), 'etw-dev-external-'));
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    try {
      const external = { DATABASE_URL: postgres.url };
      const dev = await startDev({
        dataDir: otherDataDir,
        args: ['--schema', 'dev_external'],
        env: external,
      });
      try {
        expect(new URL(dev.env.DATABASE_URL!).username).toBe('task_worker_dev');
        const { rows } = await admin.query(
          `select nspowner::regrole::text as owner from pg_namespace where nspname = 'dev_external'`,
        );
        expect(rows).toEqual([{ owner: 'task_worker_dev' }]);

        // Another project (data folder) on the same server meanwhile: it must not change the
        // role's password under the first one.
        const secondDataDir = await mkdtemp(join(tmpdir(), 'etw-dev-external-'));
        const second = await startDevProcess({
          dataDir: secondDataDir,
          ports: await freeDevPorts(),
          args: ['--schema', 'dev_external_2'],
          env: external,
        });
        try {
          expect(second.env.DATABASE_URL).toBe(dev.env.DATABASE_URL);
        } finally {
          expect(await second.stop()).toBe(0);
          await rm(secondDataDir, { recursive: true, force: true });
        }
        const fresh = new pg.Client({ connectionString: dev.env.DATABASE_URL });
        await fresh.connect();
        expect((await fresh.query('select current_user as name')).rows).toEqual([
          { name: 'task_worker_dev' },
        ]);
        await fresh.end();
      } finally {
        expect(await dev.stop()).toBe(0);
      }

      await admin.query(`drop role if exists dev_plain_user`);
      await admin.query(`create role dev_plain_user login password 'plain' nocreaterole`);
      await admin.query(`grant create on database postgres to dev_plain_user`);
      const plainUrl = new URL(postgres.url);
      plainUrl.username = 'dev_plain_user';
      plainUrl.password = 'plain';
      const plain = await startDev({
        dataDir: otherDataDir,
        args: ['--schema', 'dev_plain'],
        env: { DATABASE_URL: plainUrl.toString() },
      });
      try {
        expect(plain.output()).toMatch(
          /"event":"dev_role_skipped".*"reason":"the user of DATABASE_URL may not create roles"/,
        );
        expect(new URL(plain.env.DATABASE_URL!).username).toBe('dev_plain_user');
        const created = await api(plain, 'POST', '/tasks', {
          name: 'app.tasks.multiply_numbers',
          args: [3, 4],
        });
        const waited = await api(plain, 'GET', `/tasks/${created.body.id as string}/wait?timeout=20`);
        expect(waited.body).toMatchObject({ done: true, task: { status: 'COMPLETED', result: 12 } });
      } finally {
        expect(await plain.stop()).toBe(0);
      }
    } finally {
      await admin.query(`drop schema if exists dev_plain cascade`);
      await admin.query(`drop owned by dev_plain_user`);
      await admin.query(`drop role if exists dev_plain_user`);
      await admin.end();
      await postgres.stop();
      await rm(otherDataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

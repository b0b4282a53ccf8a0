// Smoke test of the Cloudflare Worker in `wrangler dev` (workerd, offline) against the local
// stack of `task-worker dev`: a task created through the Worker's HTTP API in a queue no
// container serves is executed by the Worker's cron handler, fired with /__scheduled.
// Run: npm run smoke:wrangler (uses DATABASE_URL / REDIS_URL when set, else embedded Postgres).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

function start(command, args, env, label) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  return { child, exited, output: () => output, label };
}

async function until(check, what, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const dataDir = await mkdtemp(join(tmpdir(), 'etw-smoke-'));
const schema = `smoke_${Math.random().toString(36).slice(2, 8)}`;
const ports = {
  port: await freePort(),
  'neon-port': await freePort(),
  'upstash-port': await freePort(),
  'postgres-port': await freePort(),
};
const processes = [];
let failed = false;
try {
  const devArgs = Object.entries(ports).flatMap(([name, port]) => [`--${name}`, String(port)]);
  const dev = start(
    process.execPath,
    [
      'bin/task-worker.js',
      'dev',
      '--data-dir',
      dataDir,
      '--schema',
      schema,
      // No --tasks: no container worker runs, so only the Worker's cron handler can run the task.
      ...devArgs,
    ],
    {},
    'task-worker dev',
  );
  processes.push(dev);
  await until(async () => dev.output().includes('edge-task-worker dev is ready'), 'task-worker dev');
  const env = Object.fromEntries(
    [...dev.output().matchAll(/^ {2}([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1], m[2]]),
  );

  const workerPort = await freePort();
  const vars = [
    'DATABASE_URL',
    'NEON_FETCH_ENDPOINT',
    // The local Neon endpoint refuses requests without its token.
    'NEON_AUTH_TOKEN',
    'UPSTASH_REDIS_REST_URL',
    'UPSTASH_REDIS_REST_TOKEN',
    'TASK_WORKER_SCHEMA',
    'TASK_WORKER_API_TOKEN',
  ];
  const missing = vars.filter((name) => !env[name]);
  if (missing.length > 0) throw new Error(`task-worker dev printed no ${missing.join(', ')}`);
  const wrangler = start(
    'wrangler',
    [
      'dev',
      '--test-scheduled',
      '--ip',
      '127.0.0.1',
      '--port',
      String(workerPort),
      '--inspector-port',
      String(await freePort()),
      ...vars.flatMap((name) => ['--var', `${name}:${env[name]}`]),
    ],
    {
      WRANGLER_SEND_METRICS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      WRANGLER_HIDE_BANNER: 'true',
      WRANGLER_SEND_ERROR_REPORTS: 'false',
      CI: 'true',
    },
    'wrangler dev',
  );
  processes.push(wrangler);
  const base = `http://127.0.0.1:${workerPort}`;
  await until(async () => (await fetch(`${base}/healthz`)).ok, 'wrangler dev /healthz');
  const headers = {
    authorization: `Bearer ${env.TASK_WORKER_API_TOKEN}`,
    'content-type': 'application/json',
  };

  const created = await fetch(`${base}/tasks`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ name: 'app.tasks.multiply_numbers', args: [7, 8], queue: 'cron' }),
  });
  if (created.status !== 201)
    throw new Error(`POST /tasks answered ${created.status}: ${await created.text()}`);
  const task = await created.json();
  console.log(`created ${task.id} through the Worker (queue cron, no container serves it)`);

  const fired = await fetch(`${base}/__scheduled?cron=*+*+*+*+*`);
  console.log(`fired /__scheduled: ${fired.status}`);
  const done = await until(
    async () => {
      const response = await fetch(`${base}/tasks/${task.id}`, { headers });
      const body = await response.json();
      return body.status === 'COMPLETED' ? body : undefined;
    },
    'the cron run to complete the task',
    20_000,
  );
  if (done.result !== 56 || !String(done.workerId).startsWith('cloudflare:')) {
    throw new Error(`unexpected task: ${JSON.stringify(done)}`);
  }
  console.log(`completed by ${done.workerId} with result ${done.result}: smoke test passed`);
} catch (error) {
  failed = true;
  console.error(`smoke test failed: ${error.message}`);
  for (const p of processes) console.error(`--- ${p.label} output ---\n${p.output().slice(-4000)}`);
} finally {
  for (const p of processes.reverse()) {
    if (p.child.exitCode === null) p.child.kill('SIGINT');
    await Promise.race([p.exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
  }
  await rm(dataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

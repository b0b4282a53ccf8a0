import type { Database } from '../src/core/database.ts';
import type { TaskRegistry } from '../src/core/define-tasks.ts';
import { createNeonHttpDatabase } from '../src/adapters/edge/neon-http-database.ts';
import { ConfigError } from '../src/core/errors.ts';
import type { Notifier } from '../src/core/notifier.ts';
import { createUpstashNotifier, type UpstashConnection } from '../src/adapters/edge/upstash-notifier.ts';
import { createTaskClient, type TaskClient, type TaskClientConfig } from '../src/core/service/task-client.ts';
import type { DueHint } from '../src/core/due-hint.ts';
import { createUpstashDueHint } from '../src/adapters/edge/upstash-due-hint.ts';

export interface ClientOptions {
  /** Neon (or local endpoint) connection string; used through Neon's HTTP driver. */
  databaseUrl?: string;
  /** An injected driver instead, e.g. `createPgDatabase` from `edge-task-worker/node`. */
  database?: Database;
  /** SQL-over-HTTP endpoint for `databaseUrl` (default: Neon's), e.g. `task-worker dev`'s. */
  neonFetchEndpoint?: string;
  /**
   * Bearer token for Neon's HTTP driver (its `authToken`; default: none). With Neon, the JWT
   * of Neon Authorize; with `task-worker dev`, the token its local endpoint requires
   * (`NEON_AUTH_TOKEN` in the environment it prints). A function is called before each
   * request.
   */
  neonAuthToken?: string | (() => string | Promise<string>);
  /** Schema holding the tables (default: task_worker). */
  schema?: string;
  /** Largest `args` + `kwargs` in bytes of JSON (default: 1 MiB). */
  maxPayloadBytes?: number;
  /**
   * Upstash Redis over REST for notifications: `{ url, token }` or an `@upstash/redis` client.
   * Tasks are announced after they are stored, and `waitForCompletion` subscribes instead of
   * polling (default: none, polling only).
   */
  redis?: UpstashConnection;
  /** Any other notifier instead of `redis` (Redis TCP or LISTEN/NOTIFY from `edge-task-worker/node`). */
  notifier?: Notifier;
  /**
   * The Cloudflare cron Worker's "anything due?" hint: with `redis`, each call that creates or
   * requeues tasks also counts a change there (one more Upstash command, sent beside the
   * publish), so the Worker's cron ticks skip the database while nothing changed. `false`
   * turns it off when no cron Worker runs tasks (default: on with `redis`).
   */
  dueHint?: DueHint | false;
  /** Hands publishes to the platform, e.g. `ctx.waitUntil.bind(ctx)` (default: awaited). */
  waitUntil?: TaskClientConfig['waitUntil'];
  /**
   * OpenTelemetry: `import * as otel from '@opentelemetry/api'`, passed as `tracing: otel`, traces
   * each create and stores its context with the task (default: the package when it can be
   * imported at run time, which edge bundles cannot: pass it there; `false`: off).
   */
  tracing?: TaskClientConfig['tracing'];
}

/** Environment variables `createClient.fromEnv` reads (Workers bindings or `process.env`). */
export interface ClientEnv {
  /** Required. */
  DATABASE_URL?: string;
  /** Local SQL-over-HTTP endpoint, e.g. from `task-worker dev`. */
  NEON_FETCH_ENDPOINT?: string;
  /**
   * Bearer token of Neon's HTTP driver: the Neon Authorize JWT with Neon, the local endpoint's
   * token with `task-worker dev` (which prints it).
   */
  NEON_AUTH_TOKEN?: string;
  /** Schema (default: task_worker). */
  TASK_WORKER_SCHEMA?: string;
  /** Upstash REST notifications (both needed). */
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  [key: string]: unknown;
}

/** The due hint: given, or in the Upstash database of `redis` unless turned off. */
function dueHintOf(options: ClientOptions): DueHint | undefined {
  if (options.dueHint === false) return undefined;
  if (options.dueHint) return options.dueHint;
  return options.redis ? createUpstashDueHint({ ...options.redis, schema: options.schema }) : undefined;
}

function notifierOf(options: ClientOptions): { notifier?: Notifier; ownsNotifier: boolean } {
  if (options.notifier) return { notifier: options.notifier, ownsNotifier: false };
  if (!options.redis) return { ownsNotifier: false };
  return { notifier: createUpstashNotifier(options.redis), ownsNotifier: true };
}

function create<R extends TaskRegistry = TaskRegistry>(options: ClientOptions): TaskClient<R> {
  const notifications = { ...notifierOf(options), dueHint: dueHintOf(options) };
  if (options.database) {
    return createTaskClient<R>({
      ...options,
      ...notifications,
      database: options.database,
      ownsDatabase: false,
    });
  }
  if (!options.databaseUrl) {
    throw new ConfigError('createClient needs a databaseUrl (Neon connection string) or a database driver.');
  }
  const database = createNeonHttpDatabase({
    connectionString: options.databaseUrl,
    fetchEndpoint: options.neonFetchEndpoint,
    authToken: options.neonAuthToken,
  });
  return createTaskClient<R>({ ...options, ...notifications, database, ownsDatabase: true });
}

function fromEnv<R extends TaskRegistry = TaskRegistry>(
  env?: ClientEnv,
  extra: Pick<ClientOptions, 'waitUntil' | 'maxPayloadBytes' | 'tracing'> = {},
): TaskClient<R> {
  const source = env ?? (globalThis as { process?: { env?: ClientEnv } }).process?.env ?? {};
  const text = (key: string): string | undefined => {
    const value = source[key];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const databaseUrl = text('DATABASE_URL');
  if (!databaseUrl) throw new ConfigError('DATABASE_URL is not set; createClient.fromEnv needs it.');
  const url = text('UPSTASH_REDIS_REST_URL');
  const token = text('UPSTASH_REDIS_REST_TOKEN');
  return create<R>({
    ...extra,
    databaseUrl,
    neonFetchEndpoint: text('NEON_FETCH_ENDPOINT'),
    neonAuthToken: text('NEON_AUTH_TOKEN'),
    schema: text('TASK_WORKER_SCHEMA'),
    redis: url && token ? { url, token } : undefined,
  });
}

/**
 * Creates a client. With `databaseUrl` it uses Neon's HTTP driver (one HTTPS request per
 * statement, edge-safe); with `database` it uses the driver given.
 *
 * ```ts
 * const client = createClient<typeof tasks>({ databaseUrl: env.DATABASE_URL });
 * const task = await client.createTask('app.tasks.multiply_numbers', { args: [2, 3] });
 * ```
 */
export const createClient: typeof create & {
  /**
   * Creates a client from env vars or Workers bindings: `DATABASE_URL`, `NEON_FETCH_ENDPOINT`,
   * `NEON_AUTH_TOKEN` (with Neon, the Neon Authorize JWT; with `task-worker dev`, the token of
   * its local endpoint), `TASK_WORKER_SCHEMA`, and `UPSTASH_REDIS_REST_URL`/`_TOKEN` for
   * notifications. (`REDIS_URL` is TCP, which edge runtimes lack: Node apps pass
   * `notifier: notifierFromEnv(process.env).notifier`.)
   */
  fromEnv: typeof fromEnv;
} = Object.assign(create, { fromEnv });

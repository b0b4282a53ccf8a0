/**
 * Options of the container worker, their defaults and their checks.
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { DEFAULT_RETRY_BACKOFF, type RetryBackoff } from '../../src/core/retry-policy.ts';
import { DEFAULT_SCHEMA } from '../../src/core/schema-name.ts';
import type { Notifier } from '../../src/core/notifier.ts';
import type { DueHint } from '../../src/core/due-hint.ts';
import type { WorkerObserver } from './worker-observer.ts';
import type { WorkerMetricsOptions } from './worker-metrics.ts';
import type { TracingApi } from '../../src/core/tracing/otel-api.ts';
import type { AnyLogger } from './logger.ts';

export interface WorkerOptions {
  /** Path (or file: URL) of the tasks module: a `defineTasks` registry as default export. */
  tasks: string;
  /** A driver (node-postgres recommended). Give this or `databaseUrl`. */
  database?: Database;
  /** Postgres URL; the worker creates (and closes) a node-postgres pool. */
  databaseUrl?: string;
  /** (default: task_worker) */
  schema?: string;
  /** Tasks run at once, each in its own thread (default: 1). */
  concurrency?: number;
  /** Retries for tasks created without `maxRetries` (default: 0). `1` means two attempts. */
  retry?: number;
  /** Only these queues (default: all queues). */
  queues?: string[];
  /**
   * Milliseconds between polls when idle without notifications: no notifier, or its
   * connection is down (default: 1000).
   */
  pollInterval?: number;
  /**
   * Longest sleep, in milliseconds, of an idle worker whose notifier is connected: it wakes on
   * a notification, when a delayed task or a retry becomes due, and when maintenance is due,
   * else after this long as a safety net (default: 600000, so an idle queue lets a serverless
   * Postgres suspend: Neon does after 5 minutes without queries).
   */
  idleInterval?: number;
  /** Lease length in seconds; a crashed worker's tasks are recovered after about this long (default: 30). */
  lease?: number;
  /** Seconds running tasks get to finish after a stop request (default: 25). */
  grace?: number;
  /** Milliseconds between a timeout's abort signal and terminating the thread (default: 1000). */
  killGrace?: number;
  /**
   * `thread` runs each task in a worker thread that is terminated at its timeout (default);
   * `none` runs handlers on the main thread: faster for tiny tasks, but a timeout only aborts
   * the signal and a busy loop blocks the worker (see in-process-executor.ts).
   */
  isolation?: 'thread' | 'none';
  /**
   * Milliseconds between maintenance looks while work waits (default: lease / 3, in ms). The
   * maintenance itself (sweeping expired leases, retention) runs on one elected worker.
   */
  sweepInterval?: number;
  /**
   * Deletes final tasks (COMPLETED, FAILED, CANCELLED) created more than this many days ago,
   * once an hour, on the elected maintainer, in bounded batches (default: keep everything).
   */
  retentionDays?: number;
  /** Retry back-off (default: 1 s base, 1 h cap). */
  backoff?: RetryBackoff;
  /** Identifies this worker in `worker_id` (default: host:pid:random). */
  workerId?: string;
  /**
   * Where the worker logs: pino (or any logger with pino's debug/info/warn/error and child; a
   * child with `component: 'worker'` is used) or the project's `createLogger()` (default: JSON
   * lines on stdout, readable lines on a TTY). Every line about a task carries `taskId`, `name`,
   * `attempt` and, when the task was created in a trace, `traceId`.
   */
  logger?: AnyLogger;
  /** Told of every claim, run and outcome (metrics, tracing); see worker-observer.ts. */
  observers?: readonly WorkerObserver[];
  /**
   * Counts claims, runs and outcomes into `metrics.registry`, with gauges of slots, threads, the
   * notifier and (unless `queueStats: false`) the queues (default: none); see worker-metrics.ts.
   */
  metrics?: WorkerMetricsOptions;
  /**
   * OpenTelemetry: the `@opentelemetry/api` module (`import * as otel from
   * '@opentelemetry/api'`). Each run gets a CONSUMER span continuing the trace its task was
   * created in (default: the package when it can be imported; `false`: off). Nothing is
   * recorded until an SDK registers a tracer provider (e.g. `node --import ./otel.js`).
   */
  tracing?: TracingApi | false;
  /**
   * Wakes the worker the moment a task is created (the poll interval stays as the fallback)
   * and carries its task events to waiters (default: none, polling only).
   */
  notifier?: Notifier;
  /**
   * The Cloudflare cron Worker's "anything due?" hint: the worker counts a change there when it
   * schedules a retry, sweeps a task back to `PENDING` or puts tasks back, so cron runs that
   * serve the same queues look at the database again (default: none; `task-worker run` uses
   * the Redis or Upstash database of its notifier).
   */
  dueHint?: DueHint;
  /** Clock for tests; undefined means the database clock (default). */
  now?: () => Date | undefined;
  /**
   * Seconds to wait for the database at start-up while it cannot be reached or is still
   * starting, retrying with back-off and logging `database_unavailable` each time
   * (database-wait.ts); `Infinity` waits as long as it takes. Errors waiting cannot fix (a wrong
   * password or database name) fail at once. Default: 0, no waiting: the first error is thrown
   * (`task-worker run` waits forever unless given `--wait-for-database`).
   */
  waitForDatabase?: number;
  /**
   * Ends the start-up's wait for the database: `runWorker` closes what it opened and rejects
   * with the signal's reason. A start that is not waiting (the database answered) goes on.
   */
  signal?: AbortSignal;
}

export type ResolvedWorkerOptions = Required<
  Omit<
    WorkerOptions,
    | 'database'
    | 'databaseUrl'
    | 'queues'
    | 'now'
    | 'logger'
    | 'workerId'
    | 'notifier'
    | 'dueHint'
    | 'signal'
    | 'observers'
    | 'metrics'
    | 'tracing'
  >
> &
  Pick<WorkerOptions, 'queues' | 'now' | 'signal'>;

function positiveInt(value: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got ${value}.`);
  }
  return value;
}

function positive(value: number, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`${name} must be a positive number, got ${value}.`);
  }
  return value;
}

function waitSeconds(value: number | undefined): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new ConfigError(`waitForDatabase must be 0 or more seconds (Infinity: no limit), got ${value}.`);
  }
  return value;
}

function isolation(value: WorkerOptions['isolation']): 'thread' | 'none' {
  if (value === undefined || value === 'thread' || value === 'none') return value ?? 'thread';
  throw new ConfigError(`isolation must be "thread" or "none", got "${String(value)}".`);
}

/** Applies defaults and checks ranges; throws ConfigError naming the bad option. */
export function resolveWorkerOptions(options: WorkerOptions): ResolvedWorkerOptions {
  const lease = positive(options.lease ?? 30, 'lease');
  const queues = options.queues?.map((q) => q.trim()).filter(Boolean);
  if (queues && queues.length === 0) throw new ConfigError('queues is empty; omit it to serve every queue.');
  return {
    tasks: options.tasks,
    schema: options.schema ?? DEFAULT_SCHEMA,
    concurrency: positiveInt(options.concurrency ?? 1, 'concurrency', 1, 1024),
    retry: positiveInt(options.retry ?? 0, 'retry', 0, 1000),
    queues,
    pollInterval: positive(options.pollInterval ?? 1000, 'pollInterval'),
    idleInterval: positive(options.idleInterval ?? 600_000, 'idleInterval'),
    lease,
    grace: options.grace === 0 ? 0 : positive(options.grace ?? 25, 'grace'),
    killGrace: options.killGrace === 0 ? 0 : positive(options.killGrace ?? 1000, 'killGrace'),
    isolation: isolation(options.isolation),
    sweepInterval: positive(options.sweepInterval ?? (lease * 1000) / 3, 'sweepInterval'),
    backoff: options.backoff ?? DEFAULT_RETRY_BACKOFF,
    retentionDays: options.retentionDays === undefined ? 0 : positive(options.retentionDays, 'retentionDays'),
    now: options.now,
    waitForDatabase: waitSeconds(options.waitForDatabase),
    signal: options.signal,
  };
}

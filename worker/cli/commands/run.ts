import { parseArgs } from 'node:util';
import { ConfigError } from '../../../src/core/errors.ts';
import { migrate } from '../../../src/core/migrations/migrate.ts';
import { taskQueryStatements } from '../../../src/core/sql/task-query-statements.ts';
import {
  dueHintFromEnv,
  notifierFromEnv,
  type NotifierKind,
} from '../../../src/adapters/node/notifier-from-env.ts';
import { createPgDatabase } from '../../../src/adapters/node/pg-database.ts';
import { DEFAULT_SCHEMA } from '../../../src/core/schema-name.ts';
import type { Database } from '../../../src/core/database.ts';
import type { Command } from '../command.ts';
import { databaseOptions } from '../database-options.ts';
import { METRICS_ARGS, METRICS_USAGE, parseMetricsFlags, serveMetrics } from '../metrics-options.ts';
import type { MetricsFlags, ServedMetrics } from '../metrics-options.ts';
import { waitSecondsOption, withDatabaseWait } from '../../container/database-wait.ts';
import { createLogger, type Logger, type LogLevel } from '../../container/logger.ts';
import { runWorker } from '../../container/run-worker.ts';
import { startStatusLine } from '../../container/status-line.ts';
import type { WorkerOptions } from '../../container/worker-options.ts';
import { shutdownSignalsFromStart } from './shutdown-signals.ts';

const usage = `Usage: task-worker run --tasks <module> [options]

Runs tasks from the queue until SIGTERM/SIGINT. The first signal stops claiming and lets
running tasks finish within --grace seconds, then puts back what is left and exits 0; a
second signal puts everything back at once.

Started while Postgres is down, restarting or still starting, it waits for it, retrying with
back-off (0.5 s doubling to 10 s) and logging database_unavailable each time; a signal ends
the wait and exits 0. A wrong password or database name fails at once.

Options:
  --tasks PATH           module whose default export is a defineTasks({...}) registry (.ts or .js)
  --concurrency N        tasks at once, each in its own thread (default: 1)
  --retry N              retries for tasks created without maxRetries; 1 = two attempts (default: 0)
  --queues a,b           only these queues (default: all)
  --poll-interval MS     poll when idle every MS milliseconds, while no notifier is connected
                         (default: 1000)
  --idle-interval S      longest sleep of an idle worker whose notifier is connected; it wakes
                         for notifications and for due tasks and maintenance (default: 600)
  --lease S              lease seconds; a crashed worker's tasks come back after about this (default: 30)
  --grace S              seconds running tasks get to finish on shutdown (default: 25)
  --database-url URL     Postgres URL (default: $DATABASE_URL)
  --schema NAME          (default: $TASK_WORKER_SCHEMA or ${DEFAULT_SCHEMA})
  --retention-days N     delete final tasks created more than N days ago (default: keep all)
  --migrate              apply pending migrations before starting
  --wait-for-database S  seconds to wait for the database at start, or forever (default:
                         forever; 0: no waiting)
  --isolation MODE       thread: each task in a thread killed at its timeout (default);
                         none: on the main thread, faster for tiny tasks, timeouts by signal only
  --notifier KIND        auto, redis, upstash, postgres or none (default: auto: REDIS_URL, else
                         UPSTASH_REDIS_REST_URL/TOKEN, else none = polling only)
${METRICS_USAGE}
  --log-format F         json or pretty (default: pretty on a TTY, else json)
  --log-level L          debug, info, warn or error (default: info)`;

/** Seconds from the command line as the milliseconds `runWorker` takes. */
function seconds(value: number | undefined): number | undefined {
  return value === undefined ? undefined : value * 1000;
}

function int(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number)) throw new ConfigError(`--${name} must be a number, got "${value}".`);
  return number;
}

/** What the command line asks for. */
interface RunConfig {
  databaseUrl: string;
  schema: string;
  migrate: boolean;
  waitForDatabase: number;
  notifier: NotifierKind;
  format: 'json' | 'pretty' | undefined;
  level: LogLevel;
  metrics: MetricsFlags | undefined;
  /** The worker's own options, but the database, logger, notifier and signal. */
  worker: Omit<WorkerOptions, 'database' | 'databaseUrl' | 'logger' | 'notifier' | 'signal'>;
}

function parseRunArgs(argv: string[]): RunConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      tasks: { type: 'string' },
      concurrency: { type: 'string' },
      retry: { type: 'string' },
      queues: { type: 'string' },
      'poll-interval': { type: 'string' },
      'idle-interval': { type: 'string' },
      lease: { type: 'string' },
      grace: { type: 'string' },
      'database-url': { type: 'string' },
      schema: { type: 'string' },
      migrate: { type: 'boolean' },
      'wait-for-database': { type: 'string' },
      'retention-days': { type: 'string' },
      isolation: { type: 'string' },
      notifier: { type: 'string' },
      'log-format': { type: 'string' },
      'log-level': { type: 'string' },
      ...METRICS_ARGS,
    },
    strict: true,
  });
  if (!values.tasks)
    throw new ConfigError('--tasks is required: the module that exports your defineTasks registry.');
  const { url: databaseUrl, schema } = databaseOptions(values);
  const format = values['log-format'];
  if (format !== undefined && format !== 'json' && format !== 'pretty') {
    throw new ConfigError(`--log-format must be json or pretty, got "${format}".`);
  }
  const level = values['log-level'] ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(level)) {
    throw new ConfigError(`--log-level must be debug, info, warn or error, got "${level}".`);
  }
  return {
    databaseUrl,
    schema,
    migrate: values.migrate === true,
    waitForDatabase: waitSecondsOption(values['wait-for-database'], Infinity),
    notifier: (values.notifier ?? 'auto') as NotifierKind,
    format,
    level: level as LogLevel,
    metrics: parseMetricsFlags(values, process.env),
    worker: {
      tasks: values.tasks,
      concurrency: int(values.concurrency, 'concurrency'),
      retry: int(values.retry, 'retry'),
      queues: values.queues?.split(','),
      pollInterval: int(values['poll-interval'], 'poll-interval'),
      idleInterval: seconds(int(values['idle-interval'], 'idle-interval')),
      lease: int(values.lease, 'lease'),
      grace: int(values.grace, 'grace'),
      retentionDays: int(values['retention-days'], 'retention-days'),
      isolation: values.isolation as 'thread' | 'none' | undefined,
    },
  };
}

/** Waits until the database answers (within the limit), then applies migrations if asked to. */
async function databaseReady(
  config: RunConfig,
  database: Database,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  const { schema } = config;
  const wait = { limitSeconds: config.waitForDatabase, logger, signal };
  await withDatabaseWait(() => database.query(taskQueryStatements(schema).databasePing), wait);
  if (!config.migrate) return;
  // Again with waiting: the database may restart in between, and migrating twice is safe.
  const result = await withDatabaseWait(() => migrate(database, { schema }), wait);
  logger.log('info', 'migrated', { schema, applied: result.applied, version: result.version });
}

export const runCommand: Command = {
  summary: 'run a worker that executes tasks',
  usage,
  async run(argv) {
    const config = parseRunArgs(argv);
    const status = process.stderr.isTTY ? startStatusLine() : undefined;
    const logger = createLogger({ format: config.format, level: config.level, beforeWrite: status?.clear });
    const database = createPgDatabase({
      connectionString: config.databaseUrl,
      max: 4,
      applicationName: 'task-worker run',
    });
    const { notifier, kind } = notifierFromEnv(
      { ...process.env, DATABASE_URL: config.databaseUrl },
      config.notifier,
      { database },
    );
    const dueHint = dueHintFromEnv(process.env, kind, config.schema);
    // Signals are handled from here on: one that arrives while the worker waits for the
    // database ends the wait; one that arrives while it starts (it may already have claimed
    // tasks) stops it as soon as it is up, instead of killing the process with tasks still
    // leased to it.
    const starting = new AbortController();
    const stopRequested = new Error('stopped before the worker started');
    const signals = shutdownSignalsFromStart({
      graceful: (signal) => {
        logger.log('info', 'shutdown_requested', {
          signal,
          note: 'send it again to put running tasks back at once',
        });
        starting.abort(stopRequested);
      },
      immediate: (signal) => logger.log('warn', 'shutdown_forced', { signal }),
    });
    let metrics: ServedMetrics | undefined;
    const closeAll = async () => {
      status?.stop();
      await metrics?.close();
      await notifier.close();
      await dueHint?.close?.();
      await database.close();
      signals.remove();
    };
    try {
      metrics = await serveMetrics(config.metrics, logger);
      await databaseReady(config, database, logger, starting.signal);
      logger.log('info', 'notifier', { kind });
      const worker = await runWorker({
        ...config.worker,
        database,
        schema: config.schema,
        waitForDatabase: config.waitForDatabase,
        signal: starting.signal,
        logger,
        notifier,
        dueHint,
        metrics: metrics?.worker,
      });
      status?.track(() => worker.stats());
      signals.ready({ graceful: () => void worker.stop(), immediate: () => void worker.kill() });
      await worker.stopped;
    } catch (error) {
      if (error !== stopRequested) {
        await closeAll();
        throw error;
      }
      logger.log('info', 'worker_not_started', { reason: 'a shutdown signal came while it was starting' });
    }
    await closeAll();
    return 0;
  },
};

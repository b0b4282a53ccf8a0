import { parseArgs } from 'node:util';
import { ConfigError } from '../../../src/core/errors.ts';
import { migrate } from '../../../src/core/migrations/migrate.ts';
import { notifierFromEnv, type NotifierKind } from '../../../src/adapters/node/notifier-from-env.ts';
import { createPgDatabase } from '../../../src/adapters/node/pg-database.ts';
import { DEFAULT_SCHEMA } from '../../../src/core/schema-name.ts';
import type { Command } from '../command.ts';
import { createLogger, type LogLevel } from '../../container/logger.ts';
import { runWorker } from '../../container/run-worker.ts';
import { startStatusLine } from '../../container/status-line.ts';
import { shutdownSignalsFromStart } from './shutdown-signals.ts';

const usage = `Usage: task-worker run --tasks <module> [options]

Runs tasks from the queue until SIGTERM/SIGINT. The first signal stops claiming and lets
running tasks finish within --grace seconds, then puts back what is left and exits 0; a
second signal puts everything back at once.

Options:
  --tasks PATH           module whose default export is a defineTasks({...}) registry (.ts or .js)
  --concurrency N        tasks at once, each in its own thread (default: 1)
  --retry N              retries for tasks created without maxRetries; 1 = two attempts (default: 0)
  --queues a,b           only these queues (default: all)
  --poll-interval MS     poll when idle every MS milliseconds (default: 1000)
  --lease S              lease seconds; a crashed worker's tasks come back after about this (default: 30)
  --grace S              seconds running tasks get to finish on shutdown (default: 25)
  --database-url URL     Postgres URL (default: $DATABASE_URL)
  --schema NAME          (default: $TASK_WORKER_SCHEMA or ${DEFAULT_SCHEMA})
  --retention-days N     delete final tasks created more than N days ago (default: keep all)
  --migrate              apply pending migrations before starting
  --isolation MODE       thread: each task in a thread killed at its timeout (default);
                         none: on the main thread, faster for tiny tasks, timeouts by signal only
  --notifier KIND        auto, redis, upstash, postgres or none (default: auto: REDIS_URL, else
                         UPSTASH_REDIS_REST_URL/TOKEN, else none = polling only)
  --log-format F         json or pretty (default: pretty on a TTY, else json)
  --log-level L          debug, info, warn or error (default: info)`;

function int(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number)) throw new ConfigError(`--${name} must be a number, got "${value}".`);
  return number;
}

export const runCommand: Command = {
  summary: 'run a worker that executes tasks',
  usage,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        tasks: { type: 'string' },
        concurrency: { type: 'string' },
        retry: { type: 'string' },
        queues: { type: 'string' },
        'poll-interval': { type: 'string' },
        lease: { type: 'string' },
        grace: { type: 'string' },
        'database-url': { type: 'string' },
        schema: { type: 'string' },
        migrate: { type: 'boolean' },
        'retention-days': { type: 'string' },
        isolation: { type: 'string' },
        notifier: { type: 'string' },
        'log-format': { type: 'string' },
        'log-level': { type: 'string' },
      },
      strict: true,
    });
    if (!values.tasks)
      throw new ConfigError('--tasks is required: the module that exports your defineTasks registry.');
    const databaseUrl = values['database-url'] ?? process.env.DATABASE_URL;
    if (!databaseUrl) throw new ConfigError('No database: pass --database-url or set DATABASE_URL.');
    const schema = values.schema ?? process.env.TASK_WORKER_SCHEMA ?? DEFAULT_SCHEMA;
    const format = values['log-format'];
    if (format !== undefined && format !== 'json' && format !== 'pretty') {
      throw new ConfigError(`--log-format must be json or pretty, got "${format}".`);
    }
    const level = values['log-level'] ?? 'info';
    if (!['debug', 'info', 'warn', 'error'].includes(level)) {
      throw new ConfigError(`--log-level must be debug, info, warn or error, got "${level}".`);
    }
    const status = process.stderr.isTTY ? startStatusLine() : undefined;
    const logger = createLogger({ format, level: level as LogLevel, beforeWrite: status?.clear });
    const database = createPgDatabase({
      connectionString: databaseUrl,
      max: 4,
      applicationName: 'task-worker run',
    });
    const { notifier, kind } = notifierFromEnv(
      { ...process.env, DATABASE_URL: databaseUrl },
      (values.notifier ?? 'auto') as NotifierKind,
      { database },
    );
    if (values.migrate) {
      const result = await migrate(database, { schema });
      logger.log('info', 'migrated', { schema, applied: result.applied, version: result.version });
    }
    // Signals are handled from here on: one that arrives while the worker starts (it may
    // already have claimed tasks) stops it as soon as it is up, instead of killing the
    // process with tasks still leased to it.
    const signals = shutdownSignalsFromStart({
      graceful: (signal) =>
        logger.log('info', 'shutdown_requested', {
          signal,
          note: 'send it again to put running tasks back at once',
        }),
      immediate: (signal) => logger.log('warn', 'shutdown_forced', { signal }),
    });
    logger.log('info', 'notifier', { kind });
    const worker = await runWorker({
      tasks: values.tasks,
      database,
      schema,
      concurrency: int(values.concurrency, 'concurrency'),
      retry: int(values.retry, 'retry'),
      queues: values.queues?.split(','),
      pollInterval: int(values['poll-interval'], 'poll-interval'),
      lease: int(values.lease, 'lease'),
      grace: int(values.grace, 'grace'),
      retentionDays: int(values['retention-days'], 'retention-days'),
      logger,
      notifier,
      isolation: values.isolation as 'thread' | 'none' | undefined,
    }).catch(async (error: unknown) => {
      signals.remove();
      await notifier.close();
      await database.close();
      throw error;
    });
    status?.track(() => worker.stats());
    signals.ready({ graceful: () => void worker.stop(), immediate: () => void worker.kill() });
    await worker.stopped;
    status?.stop();
    await notifier.close();
    await database.close();
    signals.remove();
    return 0;
  },
};

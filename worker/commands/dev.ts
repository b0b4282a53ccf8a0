import { parseArgs } from 'node:util';
import { ConfigError } from '../../src/errors.ts';
import { DEFAULT_SCHEMA } from '../../src/sql/schema-name.ts';
import type { Command } from '../cli.ts';
import { createLogger } from '../container/logger.ts';
import { startDevStack } from '../dev/dev-stack.ts';
import { shutdownSignalsFromStart } from './shutdown-signals.ts';

const usage = `Usage: task-worker dev [options]

Runs the whole system locally: an embedded Postgres (data kept in --data-dir), the local Neon
SQL-over-HTTP and Upstash REST endpoints, a worker and the HTTP API. Prints the environment
an edge app (wrangler dev, next dev) should use. Ctrl-C stops everything; data is kept.

Options:
  --tasks PATH         tasks module for the worker (default: examples/tasks.ts)
  --concurrency N      worker concurrency (default: 4)
  --queues a,b         queues the worker serves (default: all)
  --data-dir DIR       where Postgres data and dev tokens live (default: .data)
  --port N             HTTP API port (default: 4000)
  --neon-port N        Neon SQL-over-HTTP endpoint port (default: 4444)
  --upstash-port N     Upstash REST endpoint port (default: 8079)
  --postgres-port N    embedded Postgres port (default: 54329)
  --host HOST          interface to listen on (default: 127.0.0.1)
  --schema NAME        (default: $TASK_WORKER_SCHEMA or ${DEFAULT_SCHEMA})

Environment: DATABASE_URL uses that Postgres instead of the embedded one; REDIS_URL backs the
Upstash endpoint with that Redis instead of memory.`;

function port(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65535) {
    throw new ConfigError(`--${name} must be a port number, got "${value}".`);
  }
  return number;
}

export const devCommand: Command = {
  summary: 'run Postgres, the local Neon/Upstash endpoints, a worker and the API on this machine',
  usage,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        tasks: { type: 'string' },
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
    const logger = createLogger();
    // Signals count from here: one that arrives while the stack starts (embedded Postgres, the
    // worker) stops it once it is up, instead of leaving the database process behind.
    const signals = shutdownSignalsFromStart({
      graceful: (signal) =>
        logger.log('info', 'dev_stopping', {
          signal,
          note: 'press Ctrl-C again to put running tasks back at once',
        }),
      immediate: () => undefined,
    });
    const stack = await startDevStack({
      tasks: values.tasks ?? 'examples/tasks.ts',
      dataDir: values['data-dir'] ?? '.data',
      databaseUrl: process.env.DATABASE_URL || undefined,
      redisUrl: process.env.REDIS_URL || undefined,
      schema: values.schema ?? process.env.TASK_WORKER_SCHEMA ?? DEFAULT_SCHEMA,
      host: values.host ?? '127.0.0.1',
      apiPort: port(values.port, 4000, 'port'),
      neonPort: port(values['neon-port'], 4444, 'neon-port'),
      upstashPort: port(values['upstash-port'], 8079, 'upstash-port'),
      postgresPort: port(values['postgres-port'], 54329, 'postgres-port'),
      concurrency: Number(values.concurrency ?? 4),
      queues: values.queues?.split(','),
      logger,
    }).catch((error: unknown) => {
      signals.remove();
      throw error;
    });
    const { env, urls } = stack;
    const envLines = Object.entries(env)
      .map(([key, value]) => `  ${key}=${value}`)
      .join('\n');
    process.stdout.write(
      `\nedge-task-worker dev is ready. Ctrl-C stops everything; data stays in ${values['data-dir'] ?? '.data'}/.\n\n` +
        `  HTTP API       ${urls.api}  (Authorization: Bearer ${env.TASK_WORKER_API_TOKEN})\n` +
        `  Neon HTTP      ${urls.neon}\n` +
        `  Upstash REST   ${urls.upstash}\n` +
        `  Postgres       ${env.DATABASE_URL}\n\n` +
        `Environment for an edge app (wrangler dev: .dev.vars, next dev: .env.local; also in ${values['data-dir'] ?? '.data'}/dev.env):\n${envLines}\n\n` +
        `Try it:\n  curl -s -X POST ${urls.api}/tasks -H 'authorization: Bearer ${env.TASK_WORKER_API_TOKEN}' \\\n` +
        `    -H 'content-type: application/json' -d '{"name":"app.tasks.multiply_numbers","args":[2,3]}'\n\n`,
    );
    logger.log('info', 'dev_ready', { api: urls.api });
    await new Promise<void>((resolve) => {
      signals.ready({
        graceful: () => void stack.stop().then(resolve),
        immediate: () => void stack.stop({ force: true }).then(resolve),
      });
    });
    signals.remove();
    logger.log('info', 'dev_stopped', {});
    return 0;
  },
};

/**
 * Worker processes of the memory workloads (and of the idle workload): edge-task-worker as
 * `task-worker run` from the build (the CLI of `dist/`, as the published package runs it, with
 * bench/fixtures/bench-tasks.js), a peer as `bench/peer-worker.ts` in one of its modes; each
 * beside a client in this process that enqueues and counts completions.
 * @module
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createTaskClient } from '../../src/core/service/task-client.ts';
import { migrate } from '../../src/core/migrations/migrate.ts';
import { createPgDatabase } from '../../src/adapters/node/pg-database.ts';
import { startChildWorker, type ChildWorker } from '../child-worker-process.ts';
import { edgeTaskWorkerUnfinishedCount, schemaDrop } from '../sql/bench-statements.ts';
import { BUILT_CLI_PATH } from '../systems/edge-task-worker-build.ts';
import { BENCH_TASKS_PATH } from '../systems/edge-task-worker.ts';
import type { BenchEnvironment, BenchJob, QueueSystem, SystemDefinition } from '../systems/queue-system.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENQUEUE_BATCH = 1000;
/** How long a worker process may take to say it is ready. */
export const READY_TIMEOUT_MS = 30_000;

/** A worker process to start, and the client side that feeds it. */
export interface MemoryTarget {
  /** The JSON log event that says the worker is ready. */
  readonly readyEvent: string;
  start(): ChildWorker;
  enqueue(count: number): Promise<void>;
  completed(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The caller's environment without what would give a child a notifier or an execution log,
 * then `extra` (which may set them on purpose).
 */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.REDIS_URL;
  delete env.EXEC_LOG;
  delete env.UPSTASH_REDIS_REST_URL;
  delete env.UPSTASH_REDIS_REST_TOKEN;
  return { ...env, ...extra };
}

/** `task-worker <args>` from the build, as a child process whose stdout carries JSON log lines. */
export function startBuiltCli(args: string[], env: NodeJS.ProcessEnv): ChildWorker {
  return startChildWorker(
    process.execPath,
    [
      '--input-type=module',
      '--eval',
      // `task-worker` from the build: bin/task-worker.js would pick the sources in a checkout.
      `const { main } = await import(${JSON.stringify(pathToFileURL(BUILT_CLI_PATH).href)});\n` +
        'process.exitCode = await main(process.argv.slice(1));',
      ...args,
    ],
    env,
    REPO_ROOT,
  );
}

/** edge-task-worker: `task-worker run --concurrency N --isolation I` on a migrated schema. */
export async function ourMemoryTarget(
  environment: BenchEnvironment,
  schema: string,
  worker: { concurrency: number; isolation: 'thread' | 'none'; kind: BenchJob['kind'] },
): Promise<MemoryTarget> {
  const db = createPgDatabase({ connectionString: environment.databaseUrl, applicationName: 'bench-client' });
  await migrate(db, { schema });
  const client = createTaskClient({ database: db, schema });
  let enqueued = 0;
  const args = ['run', '--tasks', BENCH_TASKS_PATH, '--concurrency', String(worker.concurrency)];
  args.push('--poll-interval', '100', '--notifier', 'none', '--isolation', worker.isolation);
  args.push('--log-format', 'json');
  return {
    readyEvent: 'worker_started',
    start: () =>
      startBuiltCli(args, childEnv({ DATABASE_URL: environment.databaseUrl, TASK_WORKER_SCHEMA: schema })),
    async enqueue(count) {
      for (let from = 0; from < count; from += ENQUEUE_BATCH) {
        const size = Math.min(ENQUEUE_BATCH, count - from);
        await client.createTasks(
          Array.from({ length: size }, (_, k) => ({ name: `bench.${worker.kind}`, kwargs: { i: from + k } })),
        );
        enqueued += size;
      }
    },
    async completed() {
      const { rows } = await db.query<{ n: number }>(edgeTaskWorkerUnfinishedCount(schema));
      return enqueued - (rows[0]?.n ?? 0);
    },
    async close() {
      await db.query(schemaDrop(schema));
      await db.close();
    },
  };
}

/** A peer: `bench/peer-worker.ts <system> <mode> <namespace>`, fed through its QueueSystem. */
export async function peerMemoryTarget(
  environment: BenchEnvironment,
  definition: SystemDefinition,
  mode: string,
  namespace: string,
  kind: BenchJob['kind'],
): Promise<MemoryTarget> {
  const system: QueueSystem = definition.create(environment, mode, namespace);
  await system.open();
  return {
    readyEvent: 'ready',
    start: () =>
      startChildWorker(
        process.execPath,
        ['bench/peer-worker.ts', definition.name, mode, namespace],
        childEnv({ BENCH_DATABASE_URL: environment.databaseUrl, BENCH_REDIS_URL: environment.redisUrl }),
        REPO_ROOT,
      ),
    async enqueue(count) {
      for (let from = 0; from < count; from += ENQUEUE_BATCH) {
        const size = Math.min(ENQUEUE_BATCH, count - from);
        await system.enqueueMany(Array.from({ length: size }, (_, k) => ({ kind, i: from + k })));
      }
    },
    completed: () => system.countCompleted(),
    close: () => system.close(),
  };
}

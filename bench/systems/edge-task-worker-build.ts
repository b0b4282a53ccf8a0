/**
 * edge-task-worker as its users run it: the compiled JavaScript of `npm run build` in `dist/`
 * (`npm run bench` builds first), the way the peers run from their published packages. Run
 * from the TypeScript sources instead, every execution thread would load Node's type stripper
 * and the worker would start about twice as slowly (see docs/BENCHMARKS.md). Types come from
 * the sources; the modules are loaded from `dist/`, which mirrors the source tree.
 * @module
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type * as TaskClientSource from '../../src/core/service/task-client.ts';
import type * as NodeSource from '../../src/adapters/node/index.ts';
import type * as WorkerSource from '../../worker/container/index.ts';
import type * as MigrateSource from '../../src/core/migrations/migrate.ts';
import type * as PostgresNotifierSource from '../../src/adapters/node/postgres-notifier.ts';
import type * as RedisNotifierSource from '../../src/adapters/node/redis-notifier.ts';

type TaskClientModule = typeof TaskClientSource;
type NodeModule = typeof NodeSource;
type WorkerModule = typeof WorkerSource;
type MigrateModule = typeof MigrateSource;
type PostgresNotifierModule = typeof PostgresNotifierSource;
type RedisNotifierModule = typeof RedisNotifierSource;

/** What the bench uses of the build. */
export interface EdgeTaskWorkerBuild {
  createTaskClient: TaskClientModule['createTaskClient'];
  createPgDatabase: NodeModule['createPgDatabase'];
  runWorker: WorkerModule['runWorker'];
  silentLogger: WorkerModule['silentLogger'];
  createMetricsRegistry: WorkerModule['createMetricsRegistry'];
  migrate: MigrateModule['migrate'];
  createPostgresNotifier: PostgresNotifierModule['createPostgresNotifier'];
  createRedisNotifier: RedisNotifierModule['createRedisNotifier'];
}

const DIST = new URL('../../dist/', import.meta.url);

/** The build's command line entry (`main(argv)`), for worker processes. */
export const BUILT_CLI_PATH = fileURLToPath(new URL('worker/cli/cli.js', DIST));

let loaded: Promise<EdgeTaskWorkerBuild> | undefined;

/** Loads the build once. Throws when `dist/` is missing (run `npm run build`). */
export function loadEdgeTaskWorkerBuild(): Promise<EdgeTaskWorkerBuild> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<EdgeTaskWorkerBuild> {
  if (!existsSync(BUILT_CLI_PATH)) {
    throw new Error(`${BUILT_CLI_PATH} is missing: run "npm run build" first (npm run bench does).`);
  }
  const from = <T>(path: string) => import(new URL(path, DIST).href) as Promise<T>;
  const [client, node, worker, migrations, postgresNotifier, redisNotifier] = await Promise.all([
    from<TaskClientModule>('src/core/service/task-client.js'),
    from<NodeModule>('src/adapters/node/index.js'),
    from<WorkerModule>('worker/container/index.js'),
    from<MigrateModule>('src/core/migrations/migrate.js'),
    from<PostgresNotifierModule>('src/adapters/node/postgres-notifier.js'),
    from<RedisNotifierModule>('src/adapters/node/redis-notifier.js'),
  ]);
  return {
    createTaskClient: client.createTaskClient,
    createPgDatabase: node.createPgDatabase,
    runWorker: worker.runWorker,
    silentLogger: worker.silentLogger,
    createMetricsRegistry: worker.createMetricsRegistry,
    migrate: migrations.migrate,
    createPostgresNotifier: postgresNotifier.createPostgresNotifier,
    createRedisNotifier: redisNotifier.createRedisNotifier,
  };
}

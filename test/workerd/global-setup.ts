/**
 * Node side of the workerd suite: a real Postgres (as for every suite), a migrated schema,
 * the local Neon endpoint the Worker talks to, and a container worker that serves only the
 * `container` queue (so tests can tell who ran a task). Values reach the Worker as bindings.
 */
import type { TestProject } from 'vitest/node';
import { migrate } from '../../src/migrations/migrate.ts';
import { startNeonEndpoint, type NeonEndpoint } from '../../src/node/neon-endpoint.ts';
import { createPgDatabase } from '../../src/node/pg-database.ts';
import { runWorker, type WorkerHandle } from '../../worker/container/run-worker.ts';
import { silentLogger } from '../../worker/container/logger.ts';
import { neonConnectionString } from '../support/drivers.ts';
import { startServices, type Services } from '../support/services.ts';
import { uniqueSchemaName } from '../support/schema-name.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    workerdDatabaseUrl: string;
    workerdNeonEndpoint: string;
    workerdSchema: string;
  }
}

let services: Services | undefined;
let endpoint: NeonEndpoint | undefined;
let worker: WorkerHandle | undefined;
let cleanup: (() => Promise<void>) | undefined;

export async function setup(project: TestProject): Promise<void> {
  services = await startServices();
  const schema = uniqueSchemaName('workerd');
  const db = createPgDatabase({ connectionString: services.databaseUrl, max: 4 });
  await migrate(db, { schema });
  endpoint = await startNeonEndpoint({ databaseUrl: services.databaseUrl });
  worker = await runWorker({
    tasks: 'examples/tasks.ts',
    database: db,
    schema,
    queues: ['container'],
    pollInterval: 100,
    logger: silentLogger,
  });
  cleanup = async () => {
    await db.query(`drop schema if exists "${schema}" cascade`);
    await db.close();
  };
  project.provide('workerdDatabaseUrl', neonConnectionString(services.databaseUrl));
  project.provide('workerdNeonEndpoint', endpoint.url);
  project.provide('workerdSchema', schema);
}

export async function teardown(): Promise<void> {
  await worker?.stop({ grace: 1 });
  await cleanup?.();
  await endpoint?.close();
  await services?.stop();
}

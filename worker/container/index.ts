/**
 * `edge-task-worker/worker`: the container worker, programmatically (`task-worker run` is the
 * same worker behind the command line). Node only.
 * @module
 */
export { runWorker, type WorkerHandle, type WorkerOptions, type WorkerStats } from './run-worker.ts';
export type { WorkerMetricsOptions } from './worker-metrics.ts';
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from './metrics-server.ts';
export {
  createMetricsRegistry,
  type MetricsRegistry,
  type MetricsRegistryOptions,
} from '../../src/core/metrics/metrics-registry.ts';
export {
  createLogger,
  silentLogger,
  type AnyLogger,
  type LogFields,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  type PinoLikeLogger,
} from './logger.ts';

/**
 * `edge-task-worker/worker`: the container worker, programmatically (`task-worker run` is the
 * same worker behind the command line). Node only.
 * @module
 */
export { runWorker, type WorkerHandle, type WorkerOptions, type WorkerStats } from './run-worker.ts';
export { createLogger, silentLogger, type Logger, type LoggerOptions, type LogLevel } from './logger.ts';

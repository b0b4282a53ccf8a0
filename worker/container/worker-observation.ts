/**
 * What watches a container worker: the user's observers, its Prometheus metrics
 * (worker-metrics.ts) and its OpenTelemetry tracing (tracing-observer.ts), combined into the
 * one observer the worker's parts report to, and what to do when the worker has stopped.
 * @module
 */
import type { RunTrace } from './executor.ts';
import type { Logger } from './logger.ts';
import { workerTracing } from './tracing-observer.ts';
import { workerMetrics, type WorkerMetricsParts } from './worker-metrics.ts';
import { combineObservers, type WorkerObserver } from './worker-observer.ts';
import type { WorkerOptions } from './worker-options.ts';

export interface WorkerObservation {
  observer: Required<WorkerObserver>;
  /** Runs handlers inside the run's span (undefined without tracing). */
  runTrace: RunTrace | undefined;
  /** Call once the worker stopped: detaches its gauges, ends left spans, flushes the SDK. */
  stopped(): Promise<void>;
}

/** Sets up metrics and tracing as `input` asks; throws ConfigError for a bad option. */
export async function workerObservation(
  input: Pick<WorkerOptions, 'observers' | 'metrics' | 'tracing'>,
  parts: WorkerMetricsParts & { workerId: string; logger: Logger },
): Promise<WorkerObservation> {
  const { db, schema, workerId, logger } = parts;
  const tracing = await workerTracing(input.tracing, { db, schema, workerId, logger });
  const metrics = workerMetrics(input.metrics, parts);
  const observers = [...(input.observers ?? []), ...metrics.observers, ...tracing.observers];
  return {
    observer: combineObservers(observers, logger),
    runTrace: tracing.runTrace,
    async stopped() {
      metrics.detach();
      await tracing.close();
    },
  };
}

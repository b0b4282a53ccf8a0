/**
 * `task-worker run`'s metrics flags: `--metrics-port` serves the worker's registry on
 * `GET /metrics` (worker/container/metrics-server.ts), on 127.0.0.1 unless `--metrics-host`
 * says otherwise; beyond loopback it needs `TASK_WORKER_METRICS_TOKEN` (an environment
 * variable, not a flag, so the token stays out of `ps` and shell history).
 * @module
 */
import { ConfigError } from '../../src/core/errors.ts';
import { createMetricsRegistry } from '../../src/core/metrics/metrics-registry.ts';
import type { Logger } from '../container/logger.ts';
import { startMetricsServer } from '../container/metrics-server.ts';
import type { WorkerMetricsOptions } from '../container/worker-metrics.ts';

/** The flags, for `parseArgs`. */
export const METRICS_ARGS = {
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string' },
  'no-queue-metrics': { type: 'boolean' },
  'metrics-cache': { type: 'string' },
} as const;

/** Their lines of the usage text. */
export const METRICS_USAGE = `  --metrics-port N       serve Prometheus metrics on GET /metrics at this port (default: off)
  --metrics-host HOST    interface for --metrics-port (default: 127.0.0.1); any other needs
                         TASK_WORKER_METRICS_TOKEN, which scrapes then send as a bearer token
  --no-queue-metrics     leave out the queue gauges (a cached query per scrape; keeps a
                         serverless Postgres awake): scrape them from the API or one worker
  --metrics-cache S      seconds one answer of the queue-gauge query is reused (default: 5)`;

export interface MetricsFlags {
  port: number;
  host: string;
  token: string | undefined;
  queueStats: boolean;
  cacheSeconds: number | undefined;
}

/** The metrics flags, or undefined without `--metrics-port`. */
export function parseMetricsFlags(
  values: {
    'metrics-port'?: string;
    'metrics-host'?: string;
    'no-queue-metrics'?: boolean;
    'metrics-cache'?: string;
  },
  env: Record<string, string | undefined>,
): MetricsFlags | undefined {
  const raw = values['metrics-port'];
  if (raw === undefined) {
    if (
      values['metrics-host'] !== undefined ||
      values['no-queue-metrics'] ||
      values['metrics-cache'] !== undefined
    ) {
      throw new ConfigError('--metrics-host, --metrics-cache and --no-queue-metrics need --metrics-port.');
    }
    return undefined;
  }
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) {
    throw new ConfigError(`--metrics-port must be a port number, got "${raw}".`);
  }
  const cache = values['metrics-cache'];
  const cacheSeconds = cache === undefined ? undefined : Number(cache);
  if (cacheSeconds !== undefined && !(cacheSeconds >= 0 && Number.isFinite(cacheSeconds))) {
    throw new ConfigError(`--metrics-cache must be 0 or more seconds, got "${cache}".`);
  }
  return {
    port,
    host: values['metrics-host'] ?? '127.0.0.1',
    token: env.TASK_WORKER_METRICS_TOKEN || undefined,
    queueStats: values['no-queue-metrics'] !== true,
    cacheSeconds,
  };
}

/** What a served registry gives the worker, and how to stop serving it. */
export interface ServedMetrics {
  worker: WorkerMetricsOptions;
  close(): Promise<void>;
}

/** Starts the metrics server (before the worker, so a taken port fails before any claim). */
export async function serveMetrics(
  flags: MetricsFlags | undefined,
  logger: Logger,
): Promise<ServedMetrics | undefined> {
  if (!flags) return undefined;
  const registry = createMetricsRegistry();
  const server = await startMetricsServer({
    registry,
    port: flags.port,
    host: flags.host,
    token: flags.token,
  });
  logger.log('info', 'metrics_listening', {
    url: server.url,
    auth: flags.token ? 'bearer token' : 'none (loopback host names only)',
    queueStats: flags.queueStats,
  });
  const worker = { registry, queueStats: flags.queueStats, cacheSeconds: flags.cacheSeconds };
  return { worker, close: () => server.close() };
}

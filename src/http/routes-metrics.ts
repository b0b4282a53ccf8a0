/**
 * `GET /metrics`: the app's registry in the Prometheus text format: what this app counted
 * (task-counters.ts), the queue gauges of its schema (src/core/metrics/queue-stats.ts, one
 * cached query), and whatever else counts into the same registry (`task-worker dev`'s worker).
 *
 * Behind a bearer token like every route but `/healthz`: the API token, or the metrics token
 * (`metricsToken`), which opens this route only, so a Prometheus server holds a credential that
 * can read counts and not tasks. Without an API token (local development) it is open to
 * loopback hosts like the rest of the app, unless a metrics token is set. A database outage
 * does not fail the scrape: the counters are still answered, with `task_worker_queue_stats_up 0`.
 * @module
 */
import type { Hono } from 'hono';
import type { Database } from '../core/database.ts';
import { ConfigError } from '../core/errors.ts';
import { createMetricsRegistry, type MetricsRegistry } from '../core/metrics/metrics-registry.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../core/metrics/prometheus-text.ts';
import { DEFAULT_QUEUE_STATS_CACHE_MS, queueStats } from '../core/metrics/queue-stats.ts';
import { bearerTokens, type RequestThrottle } from './auth.ts';
import { safeLog, type ErrorLogger } from './error-response.ts';

/** The options of `createApp` this route reads. */
export interface MetricsAppOptions {
  /**
   * The registry `GET /metrics` answers with (default: one of this app's own). Pass one you keep
   * where the app is built per request (a Cloudflare Worker's fetch), as with `authThrottle`, or
   * one an in-process worker counts into too (`task-worker dev` does). `false`: no `/metrics`.
   */
  metrics?: MetricsRegistry | false;
  /**
   * A second bearer token, accepted on `GET /metrics` only: give it to Prometheus instead of the
   * API token. Once set, `/metrics` needs a token even when `apiToken` is `false`.
   */
  metricsToken?: string;
  /**
   * Seconds one answer of the queue-gauge query is reused: a scrape costs at most one query per
   * this long, however often and by however many servers it is scraped (default: 5).
   */
  metricsCacheSeconds?: number;
}

/** The checked options: `registry` null when `/metrics` is turned off. */
export interface MetricsConfig {
  registry: MetricsRegistry | null;
  metricsToken: string | undefined;
  cacheMs: number;
}

/** @throws ConfigError for a bad `metrics`, `metricsToken` or `metricsCacheSeconds`. */
export function checkMetricsOptions(options: MetricsAppOptions): MetricsConfig {
  const { metrics, metricsToken, metricsCacheSeconds } = options;
  if (metrics !== undefined && metrics !== false && typeof metrics?.render !== 'function') {
    throw new ConfigError('metrics must be a registry from createMetricsRegistry(), or false.');
  }
  if (metricsToken !== undefined && (typeof metricsToken !== 'string' || !/^\S+$/.test(metricsToken))) {
    throw new ConfigError('metricsToken must be a non-empty string without whitespace.');
  }
  const seconds = metricsCacheSeconds ?? DEFAULT_QUEUE_STATS_CACHE_MS / 1000;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    throw new ConfigError(`metricsCacheSeconds must be 0 or more seconds, got ${String(seconds)}.`);
  }
  const registry = metrics === false ? null : (metrics ?? createMetricsRegistry());
  return { registry, metricsToken, cacheMs: seconds * 1000 };
}

const METRICS_MESSAGES = {
  missing: 'Send the API token or the metrics token as "Authorization: Bearer <token>".',
  invalid: 'The token is not valid for /metrics.',
};

/**
 * Registers `GET /metrics` on `app` (nothing when turned off). Register it before the API's
 * bearer middleware, which would refuse the metrics token.
 */
export function registerMetricsRoutes(
  app: Hono,
  config: MetricsConfig & {
    database: Database;
    schema: string;
    apiToken: string | false;
    throttle: RequestThrottle;
    log: ErrorLogger;
  },
): void {
  const { registry, database } = config;
  if (!registry) return;
  const stats = queueStats(registry, { schema: config.schema, cacheMs: config.cacheMs });
  const tokens = [config.apiToken, config.metricsToken].filter((token) => typeof token === 'string');
  if (tokens.length > 0) app.use('/metrics', bearerTokens(tokens, config.throttle, METRICS_MESSAGES));
  app.get('/metrics', async (c) => {
    await stats.refresh(database, (error) => safeLog(config.log, error, c.req.raw));
    return c.body(await registry.render(), 200, {
      'Content-Type': PROMETHEUS_CONTENT_TYPE,
      'Cache-Control': 'no-store',
    });
  });
}

/**
 * A metrics registry: the families a process counts into, the collectors that refresh gauges
 * when a scrape comes, and the Prometheus text of all of it. Edge-safe (no Node built-ins), so
 * the HTTP app renders it on Cloudflare as the container worker does on Node.
 *
 * Families are found by name: asking again for a family with the same name, type and labels
 * returns the one already registered, so an app built per request (a Cloudflare Worker) keeps
 * counting into one registry kept for the isolate. Asking with another type or other labels is
 * a {@link ConfigError}.
 * @module
 */
import { ConfigError } from '../errors.ts';
import { Counter, Gauge, Histogram, type MetricFamily } from './metric-family.ts';
import { escapeHelp } from './prometheus-text.ts';

export interface MetricsRegistryOptions {
  /**
   * Most distinct label sets per family; beyond, new sets are counted under one overflow set
   * whose labels read `__overflow__` (default: 1000).
   */
  maxLabelSets?: number;
}

/** Refreshes gauges before a scrape; it handles (and reports) its own errors. */
export type Collector = () => void | Promise<void>;

export interface MetricsRegistry {
  readonly maxLabelSets: number;
  /** A counter family (name ends in `_total` by convention). */
  counter(name: string, help: string, labelNames?: readonly string[]): Counter;
  gauge(name: string, help: string, labelNames?: readonly string[]): Gauge;
  /** A histogram family with these bucket upper bounds (increasing; `+Inf` is added). */
  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram;
  /**
   * Runs `collector` before every render; a second collector under the same `key` replaces the
   * first. Returns a function that removes it (only if it was not replaced meanwhile).
   */
  collect(key: string, collector: Collector): () => void;
  /** One value per registry and `key`, made by `create` the first time it is asked for. */
  shared<T>(key: string, create: () => T): T;
  /** Runs the collectors, then returns every family in the Prometheus text format. */
  render(): Promise<string>;
}

const DEFAULT_MAX_LABEL_SETS = 1000;

/**
 * A new, empty registry. The HTTP app and the container worker each make their own unless
 * given one; `task-worker dev` gives both the same, so one scrape shows the API and its worker.
 * @throws ConfigError for a `maxLabelSets` that is not a positive integer.
 */
export function createMetricsRegistry(options: MetricsRegistryOptions = {}): MetricsRegistry {
  const maxLabelSets = options.maxLabelSets ?? DEFAULT_MAX_LABEL_SETS;
  if (!Number.isSafeInteger(maxLabelSets) || maxLabelSets < 1) {
    throw new ConfigError(`maxLabelSets must be a positive integer, got ${String(maxLabelSets)}.`);
  }
  const families = new Map<string, MetricFamily<unknown>>();
  const collectors = new Map<string, Collector>();
  const sharedValues = new Map<string, unknown>();

  function family<F extends MetricFamily<unknown>>(
    name: string,
    type: F['type'],
    labelNames: readonly string[],
    make: () => F,
    sameAs: (existing: F) => boolean = () => true,
  ): F {
    const existing = families.get(name) as F | undefined;
    if (!existing) {
      const created = make();
      families.set(name, created);
      return created;
    }
    const sameLabels = existing.labelNames.join(',') === labelNames.join(',');
    if (existing.type !== type || !sameLabels || !sameAs(existing)) {
      throw new ConfigError(`Metric ${name} is already registered as a ${existing.type} with other labels.`);
    }
    return existing;
  }

  return {
    maxLabelSets,
    counter: (name, help, labelNames = []) =>
      family(name, 'counter', labelNames, () => new Counter(name, help, labelNames, maxLabelSets)),
    gauge: (name, help, labelNames = []) =>
      family(name, 'gauge', labelNames, () => new Gauge(name, help, labelNames, maxLabelSets)),
    histogram: (name, help, labelNames, buckets) =>
      family(
        name,
        'histogram',
        labelNames,
        () => new Histogram(name, help, labelNames, buckets, maxLabelSets),
        (existing) => existing.buckets.join(',') === buckets.join(','),
      ),
    collect(key, collector) {
      collectors.set(key, collector);
      return () => {
        if (collectors.get(key) === collector) collectors.delete(key);
      };
    },
    shared<T>(key: string, create: () => T): T {
      if (!sharedValues.has(key)) sharedValues.set(key, create());
      return sharedValues.get(key) as T;
    },
    async render() {
      // A failing collector leaves its gauges as they were; the others still run.
      await Promise.allSettled([...collectors.values()].map(async (collector) => await collector()));
      const lines: string[] = [];
      for (const metric of families.values()) {
        lines.push(
          `# HELP ${metric.name} ${escapeHelp(metric.help)}`,
          `# TYPE ${metric.name} ${metric.type}`,
        );
        metric.samples(lines);
      }
      return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
    },
  };
}

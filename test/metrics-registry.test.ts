/**
 * The metrics registry and its Prometheus text: what a scrape reads (names, HELP/TYPE lines,
 * escaped labels, cumulative histogram buckets), the bound on label sets, and the cache that
 * makes one query serve many scrapes. Pure logic: no services.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.ts';
import { cachedValue } from '../src/core/metrics/cached-value.ts';
import { OVERFLOW_LABEL_VALUE } from '../src/core/metrics/metric-family.ts';
import { createMetricsRegistry } from '../src/core/metrics/metrics-registry.ts';

describe('the Prometheus text of a registry', () => {
  it('writes counters, gauges and histograms as Prometheus parses them', async () => {
    const registry = createMetricsRegistry();
    const started = registry.counter('jobs_started_total', 'Jobs started.', ['queue', 'task']);
    const up = registry.gauge('notifier_up', 'Whether notifications arrive.');
    const duration = registry.histogram('job_seconds', 'Run time.', ['queue'], [0.1, 1]);
    started.labels('mail', 'send').inc();
    started.labels('mail', 'send').inc(2);
    started.labels('a"b\\c\nd', 'x').inc();
    up.set(1);
    for (const seconds of [0.05, 0.1, 0.5, 3]) duration.labels('mail').observe(seconds);

    expect(await registry.render()).toBe(
      [
        '# HELP jobs_started_total Jobs started.',
        '# TYPE jobs_started_total counter',
        'jobs_started_total{queue="mail",task="send"} 3',
        'jobs_started_total{queue="a\\"b\\\\c\\nd",task="x"} 1',
        '# HELP notifier_up Whether notifications arrive.',
        '# TYPE notifier_up gauge',
        'notifier_up 1',
        '# HELP job_seconds Run time.',
        '# TYPE job_seconds histogram',
        // Buckets are cumulative and count values up to and including their bound.
        'job_seconds_bucket{queue="mail",le="0.1"} 2',
        'job_seconds_bucket{queue="mail",le="1"} 3',
        'job_seconds_bucket{queue="mail",le="+Inf"} 4',
        'job_seconds_sum{queue="mail"} 3.65',
        'job_seconds_count{queue="mail"} 4',
        '',
      ].join('\n'),
    );
  });

  it('sends label sets past the limit to one overflow set instead of growing', async () => {
    const registry = createMetricsRegistry({ maxLabelSets: 2 });
    const created = registry.counter('created_total', 'Created.', ['queue']);
    for (let i = 0; i < 1000; i++) created.labels(`queue-${i}`).inc();
    created.labels('queue-1').inc();

    const text = await registry.render();
    expect(text).toContain('created_total{queue="queue-0"} 1\n');
    expect(text).toContain('created_total{queue="queue-1"} 2\n');
    expect(text).toContain(`created_total{queue="${OVERFLOW_LABEL_VALUE}"} 998\n`);
    expect(created.size).toBe(3);
  });

  it('returns the registered family for the same name, and refuses a clash or a bad name', () => {
    const registry = createMetricsRegistry();
    const first = registry.counter('x_total', 'X.', ['queue']);
    expect(registry.counter('x_total', 'X.', ['queue'])).toBe(first);
    expect(() => registry.gauge('x_total', 'X.', ['queue'])).toThrow(ConfigError);
    expect(() => registry.counter('x_total', 'X.', ['task'])).toThrow(ConfigError);
    expect(() => registry.counter('bad-name', 'X.')).toThrow(ConfigError);
    expect(() => registry.counter('y_total', 'Y.', ['__reserved'])).toThrow(ConfigError);
    expect(() => registry.histogram('h', 'H.', ['le'], [1])).toThrow(ConfigError);
    expect(() => registry.histogram('h', 'H.', [], [1, 1])).toThrow(ConfigError);
    expect(() => createMetricsRegistry({ maxLabelSets: 0 })).toThrow(ConfigError);
    expect(() => first.labels('q').inc(-1)).toThrow(RangeError);
  });

  it('runs collectors before rendering; a newer one under the same key replaces the older', async () => {
    const registry = createMetricsRegistry();
    const gauge = registry.gauge('slots', 'Slots.');
    registry.collect('worker', () => gauge.set(1));
    const remove = registry.collect('worker', () => gauge.set(2));
    registry.collect('broken', () => Promise.reject(new Error('down')));
    expect(await registry.render()).toContain('slots 2\n');
    remove();
    gauge.set(7);
    expect(await registry.render()).toContain('slots 7\n');
  });
});

describe('a cached value', () => {
  it('shares one load among overlapping callers and reuses its answer for the TTL', async () => {
    let clock = 0;
    let loads = 0;
    const cache = cachedValue<number>(5000, () => clock);
    const load = async () => {
      loads++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return loads;
    };
    expect(await Promise.all([cache.get(load), cache.get(load), cache.get(load)])).toEqual([1, 1, 1]);
    clock = 4999;
    expect(await cache.get(load)).toBe(1);
    clock = 5000;
    expect(await cache.get(load)).toBe(2);
    expect(loads).toBe(2);
  });

  it('keeps a failure for the TTL too, so a down database is not asked on every scrape', async () => {
    let clock = 0;
    let loads = 0;
    const cache = cachedValue<number>(1000, () => clock);
    const failing = async () => {
      loads++;
      throw new Error('unreachable');
    };
    await expect(cache.get(failing)).rejects.toThrow('unreachable');
    await expect(cache.get(failing)).rejects.toThrow('unreachable');
    expect(loads).toBe(1);
    clock = 1000;
    expect(await cache.get(async () => 42)).toBe(42);
    expect(() => cachedValue(-1)).toThrow(ConfigError);
  });
});

/**
 * Counters, gauges and histograms, each a family of children, one child per label set. Built
 * for the worker's hot path: finding a child is one `Map` lookup per label (no key string is
 * built), and counting or observing allocates nothing. A new label set is the only moment
 * anything is allocated or formatted.
 *
 * Label sets are bounded: past `maxLabelSets` distinct sets a family sends every new set to
 * one overflow child whose labels all read {@link OVERFLOW_LABEL_VALUE}, so a bug or hostile
 * input (a queue name per request) cannot grow memory or Prometheus' series without limit.
 * @module
 */
import { ConfigError } from '../errors.ts';
import { checkLabelNames, checkMetricName, formatValue, labelPairs, sampleLine } from './prometheus-text.ts';

/** The label value of every label of a family's overflow child. */
export const OVERFLOW_LABEL_VALUE = '__overflow__';

/** A child with its label values and its preformatted `name="value",…` text. */
interface Entry<C> {
  readonly values: readonly string[];
  readonly labels: string;
  readonly child: C;
}

type Level<C> = Map<string, C | Level<C>>;

/** The children of one family, found by nested maps (one level per label). */
class LabelSets<C> {
  readonly entries: Entry<C>[] = [];
  private root: Level<C> = new Map();
  private overflow: C | undefined;
  private readonly names: readonly string[];
  private readonly max: number;
  private readonly make: () => C;

  constructor(names: readonly string[], max: number, make: () => C) {
    this.names = names;
    this.max = max;
    this.make = make;
  }

  get(a = '', b = '', c = ''): C {
    const depth = this.names.length;
    if (depth === 0) return (this.entries[0]?.child ?? this.add([])) as C;
    const first = this.root.get(a);
    if (depth === 1) return (first as C | undefined) ?? this.create(a, b, c);
    const second = (first as Level<C> | undefined)?.get(b);
    if (depth === 2) return (second as C | undefined) ?? this.create(a, b, c);
    return ((second as Level<C> | undefined)?.get(c) as C | undefined) ?? this.create(a, b, c);
  }

  clear(): void {
    this.entries.length = 0;
    this.root = new Map();
    this.overflow = undefined;
  }

  private create(a: string, b: string, c: string): C {
    if (this.entries.length >= this.max)
      return (this.overflow ??= this.add(this.names.map(() => OVERFLOW_LABEL_VALUE)));
    const values = [a, b, c].slice(0, this.names.length);
    const child = this.add(values);
    let level = this.root;
    for (let i = 0; i < values.length - 1; i++) {
      const key = values[i] as string;
      let next = level.get(key) as Level<C> | undefined;
      if (!next) level.set(key, (next = new Map()));
      level = next;
    }
    level.set(values[values.length - 1] as string, child);
    return child;
  }

  private add(values: readonly string[]): C {
    const child = this.make();
    this.entries.push({ values, labels: labelPairs(this.names, values), child });
    return child;
  }
}

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** What every family has: a name, a help text, its label names, and its samples as text. */
export abstract class MetricFamily<C> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  abstract readonly type: MetricType;
  protected readonly sets: LabelSets<C>;

  constructor(name: string, help: string, labelNames: readonly string[], maxLabelSets: number) {
    checkMetricName(name);
    checkLabelNames(name, labelNames, this instanceof Histogram);
    this.name = name;
    this.help = help;
    this.labelNames = [...labelNames];
    this.sets = new LabelSets(this.labelNames, maxLabelSets, () => this.newChild());
  }

  /** The child of these label values (in `labelNames` order; none for a family without labels). */
  labels(a?: string, b?: string, c?: string): C {
    return this.sets.get(a, b, c);
  }

  /** Label sets so far (the overflow child included). */
  get size(): number {
    return this.sets.entries.length;
  }

  /** Appends this family's sample lines to `lines`. */
  abstract samples(lines: string[]): void;
  protected abstract newChild(): C;
}

export class CounterChild {
  value = 0;
  /** Adds `amount` (default 1); a counter only goes up. */
  inc(amount = 1): void {
    if (!(amount >= 0)) throw new RangeError(`A counter only goes up, got ${amount}.`);
    this.value += amount;
  }
}

/** A count that only goes up (`_total`); Prometheus sees a restart as a reset. */
export class Counter extends MetricFamily<CounterChild> {
  readonly type = 'counter';
  /** Adds to the child without labels. */
  inc(amount = 1): void {
    this.labels().inc(amount);
  }
  samples(lines: string[]): void {
    for (const { labels, child } of this.sets.entries) lines.push(sampleLine(this.name, labels, child.value));
  }
  protected newChild(): CounterChild {
    return new CounterChild();
  }
}

export class GaugeChild {
  value = 0;
  set(value: number): void {
    this.value = value;
  }
}

/** A value that goes up and down, set when it changes or when a scrape asks (a collector). */
export class Gauge extends MetricFamily<GaugeChild> {
  readonly type = 'gauge';
  /** Sets the child without labels. */
  set(value: number): void {
    this.labels().set(value);
  }
  /** Forgets every label set, for gauges that are set anew from a snapshot. */
  reset(): void {
    this.sets.clear();
  }
  samples(lines: string[]): void {
    for (const { labels, child } of this.sets.entries) lines.push(sampleLine(this.name, labels, child.value));
  }
  protected newChild(): GaugeChild {
    return new GaugeChild();
  }
}

export class HistogramChild {
  /** Per bucket (not cumulative; the last one is +Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  private readonly bounds: Float64Array;

  constructor(bounds: Float64Array) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Counts `value` in the first bucket whose bound is at least `value`. NaN is ignored. */
  observe(value: number): void {
    if (Number.isNaN(value)) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count++;
  }
}

/** Observations counted into fixed buckets (`_bucket{le}`, `_sum`, `_count`). */
export class Histogram extends MetricFamily<HistogramChild> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];
  private readonly bounds: Float64Array;
  private readonly le: readonly string[];

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
    max: number,
  ) {
    super(name, help, labelNames, max);
    checkBuckets(name, buckets);
    this.buckets = [...buckets];
    this.bounds = Float64Array.from(buckets);
    this.le = [...buckets.map(formatValue), '+Inf'].map((bound) => `le="${bound}"`);
  }

  /** Observes into the child without labels. */
  observe(value: number): void {
    this.labels().observe(value);
  }

  samples(lines: string[]): void {
    for (const { labels, child } of this.sets.entries) {
      const prefix = labels === '' ? '' : `${labels},`;
      let cumulative = 0;
      for (let i = 0; i < this.le.length; i++) {
        cumulative += child.counts[i] as number;
        lines.push(sampleLine(`${this.name}_bucket`, prefix + (this.le[i] as string), cumulative));
      }
      lines.push(sampleLine(`${this.name}_sum`, labels, child.sum));
      lines.push(sampleLine(`${this.name}_count`, labels, child.count));
    }
  }

  protected newChild(): HistogramChild {
    // Called from the base constructor's LabelSets only lazily, after `bounds` is set.
    return new HistogramChild(this.bounds);
  }
}

function checkBuckets(name: string, buckets: readonly number[]): void {
  const ok =
    Array.isArray(buckets) &&
    buckets.length > 0 &&
    buckets.every((b, i) => Number.isFinite(b) && (i === 0 || b > (buckets[i - 1] as number)));
  if (!ok) throw new ConfigError(`Metric ${name}: buckets must be finite, increasing numbers.`);
}

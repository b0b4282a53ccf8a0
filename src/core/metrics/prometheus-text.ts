/**
 * The Prometheus text exposition format (version 0.0.4): name and label checks, escaping and
 * number formatting. Used when a label set is first seen and at scrape time, never per
 * observation. Edge-safe.
 * @module
 */
import { ConfigError } from '../errors.ts';

/** The `Content-Type` of a scrape answer. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** @throws ConfigError for a name Prometheus would refuse. */
export function checkMetricName(name: string): void {
  if (typeof name !== 'string' || !METRIC_NAME.test(name)) {
    throw new ConfigError(`Invalid metric name ${JSON.stringify(name)}: use [a-zA-Z_:][a-zA-Z0-9_:]*.`);
  }
}

/**
 * @throws ConfigError for a label name Prometheus would refuse, one it reserves (`__…`), or `le`
 * on a histogram (its bucket label).
 */
export function checkLabelNames(metric: string, names: readonly string[], histogram: boolean): void {
  if (names.length > 3) throw new ConfigError(`Metric ${metric}: at most 3 labels, got ${names.length}.`);
  for (const name of names) {
    if (typeof name !== 'string' || !LABEL_NAME.test(name) || name.startsWith('__')) {
      throw new ConfigError(`Metric ${metric}: invalid label name ${JSON.stringify(name)}.`);
    }
    if (histogram && name === 'le') throw new ConfigError(`Metric ${metric}: "le" is the bucket label.`);
  }
  if (new Set(names).size !== names.length) throw new ConfigError(`Metric ${metric}: a label is repeated.`);
}

/** A label value inside double quotes: backslash, quote and newline escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** A HELP text: backslash and newline escaped. */
export function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

/** `name="value",…` for the label set (without braces), or '' for none. */
export function labelPairs(names: readonly string[], values: readonly string[]): string {
  return names.map((name, i) => `${name}="${escapeLabelValue(values[i] ?? '')}"`).join(',');
}

/** A sample value as Prometheus writes it: `+Inf`, `-Inf`, `NaN`, or the number. */
export function formatValue(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return Number.isNaN(value) ? 'NaN' : String(value);
}

/** One sample line: `name{labels} value`. */
export function sampleLine(name: string, labels: string, value: number): string {
  return labels === '' ? `${name} ${formatValue(value)}` : `${name}{${labels}} ${formatValue(value)}`;
}

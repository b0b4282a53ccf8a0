/**
 * Formats a workload's summary as the table printed at the end of a run (text) or pasted into
 * docs/BENCHMARKS.md (markdown): the median per system and mode with the range over the
 * repetitions, then edge-task-worker's same-run ratio to each peer.
 * @module
 */
import type { MetricSpec } from '../workloads/system-workload.ts';
import type { ModeCostSummary, RatioSummary, VariantSummary } from './summarize.ts';
import { markdownTable, textTable } from './text-table.ts';

export type TableStyle = 'text' | 'markdown';

/** A number with `digits` decimals and thousands separators. */
export function formatNumber(value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function table(style: TableStyle, header: string[], rows: string[][]): string {
  return style === 'markdown' ? markdownTable(header, rows) : textTable(header, rows);
}

/** Medians (min–max) per system and mode. */
export function formatVariants(
  variants: readonly VariantSummary[],
  metrics: readonly MetricSpec[],
  style: TableStyle,
): string {
  const header = ['system / mode', ...metrics.map((m) => `${m.label} median (min–max)`), 'runs'];
  const rows = variants.map((variant) => [
    `${variant.system} / ${variant.mode}`,
    ...metrics.map((metric) => {
      const value = variant.metrics[metric.key];
      if (!value) return '–';
      const span =
        value.min === value.max
          ? ''
          : ` (${formatNumber(value.min, metric.digits)}–${formatNumber(value.max, metric.digits)})`;
      return `${formatNumber(value.median, metric.digits)}${span}`;
    }),
    variant.failed > 0 ? `${variant.runs} (+${variant.failed} failed)` : String(variant.runs),
  ]);
  return table(style, header, rows);
}

/** Ratios of each of our modes (rows) to each peer mode (columns), per compared metric. */
export function formatRatios(
  ratios: readonly RatioSummary[],
  metrics: readonly MetricSpec[],
  style: TableStyle,
): string {
  if (ratios.length === 0) return '';
  const ours = [...new Set(ratios.map((r) => r.ours))];
  const peers = [...new Set(ratios.map((r) => r.peer))];
  const compared = metrics.filter((m) => m.ratio);
  const header = ['edge-task-worker mode', ...peers.map((peer) => `vs ${peer.replace('/', ' / ')}`)];
  const rows = ours.map((our) => [
    our.slice(our.indexOf('/') + 1),
    ...peers.map((peer) =>
      compared
        .map((metric) => {
          const ratio = ratios.find((r) => r.ours === our && r.peer === peer && r.metric === metric.key);
          if (!ratio) return '–';
          const span = ratio.reps > 1 ? ` (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)})` : '';
          return `${compared.length > 1 ? `${metric.ratioLabel ?? metric.label} ` : ''}${ratio.median.toFixed(2)}×${span}`;
        })
        .join(', '),
    ),
  ]);
  return table(style, header, rows);
}

/** One row per mode and its base: each metric's median same-repetition ratio (its 90 % interval). */
export function formatModeCosts(
  costs: readonly ModeCostSummary[],
  metrics: readonly MetricSpec[],
  style: TableStyle,
): string {
  if (costs.length === 0) return '';
  const modes = [...new Set(costs.map((cost) => cost.mode))];
  const header = ['mode', 'vs.', ...metrics.map((metric) => metric.label)];
  const rows = modes.map((mode) => {
    const mine = costs.filter((cost) => cost.mode === mode);
    return [
      mode,
      mine[0]!.base,
      ...metrics.map((metric) => {
        const cost = mine.find((c) => c.metric === metric.key);
        if (!cost) return '–';
        const span = cost.reps > 1 ? ` (90 % ${cost.low.toFixed(2)}–${cost.high.toFixed(2)})` : '';
        return `${cost.median.toFixed(2)}×${span}`;
      }),
    ];
  });
  return table(style, header, rows);
}

/**
 * Turns the runs of one workload into medians per system and mode, and into same-run ratios
 * of edge-task-worker to each peer: the ratio is taken within each repetition (both ran minutes
 * apart at most, on the same machine state) and the median of those ratios is reported, because
 * the noise between runs (±30%) is larger than most differences worth seeing.
 * @module
 */
import { median, medianInterval, range } from '../sample-stats.ts';
import type { MetricSpec } from '../workloads/system-workload.ts';
import type { RunResult } from './run-result.ts';

export interface VariantSummary {
  system: string;
  mode: string;
  runs: number;
  failed: number;
  /** metric key → median, min, max over the repetitions. */
  metrics: Record<string, { median: number; min: number; max: number }>;
}

export interface RatioSummary {
  ours: string;
  peer: string;
  metric: string;
  /** Median of the per-repetition ratios; > 1 means edge-task-worker did better. */
  median: number;
  min: number;
  max: number;
  reps: number;
}

export const OURS = 'edge-task-worker';

function variantKey(run: Pick<RunResult, 'system' | 'mode'>): string {
  return `${run.system}/${run.mode}`;
}

export function summarizeVariants(
  runs: readonly RunResult[],
  metrics: readonly MetricSpec[],
): VariantSummary[] {
  const byVariant = new Map<string, RunResult[]>();
  for (const run of runs) byVariant.set(variantKey(run), [...(byVariant.get(variantKey(run)) ?? []), run]);
  return [...byVariant.values()].map((list) => {
    const ok = list.filter((run) => run.metrics);
    const summary: VariantSummary = {
      system: list[0]!.system,
      mode: list[0]!.mode,
      runs: ok.length,
      failed: list.length - ok.length,
      metrics: {},
    };
    for (const { key } of metrics) {
      const values = ok.map((run) => run.metrics?.[key]).filter((v): v is number => typeof v === 'number');
      if (values.length > 0) summary.metrics[key] = { median: median(values), ...range(values) };
    }
    return summary;
  });
}

/** `key` of variants `a` and `b` in each repetition both ran in, as pairs (both above 0). */
function perRepetition(ok: readonly RunResult[], a: string, b: string, key: string): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (const rep of new Set(ok.map((run) => run.rep))) {
    const x = ok.find((run) => run.rep === rep && variantKey(run) === a)?.metrics?.[key];
    const y = ok.find((run) => run.rep === rep && variantKey(run) === b)?.metrics?.[key];
    if (x !== undefined && y !== undefined && x > 0 && y > 0) pairs.push([x, y]);
  }
  return pairs;
}

/** The median, range and count of per-repetition ratios. */
function ratioStats(ratios: readonly number[]) {
  return { median: median(ratios), ...range(ratios), reps: ratios.length };
}

export function summarizeRatios(runs: readonly RunResult[], metrics: readonly MetricSpec[]): RatioSummary[] {
  const ok = runs.filter((run) => run.metrics);
  const variants = [...new Set(ok.map(variantKey))];
  const ours = variants.filter((v) => v.startsWith(`${OURS}/`));
  const peers = variants.filter((v) => !v.startsWith(`${OURS}/`));
  const ratios: RatioSummary[] = [];
  for (const metric of metrics.filter((m) => m.ratio)) {
    for (const our of ours) {
      for (const peer of peers) {
        const perRep = perRepetition(ok, our, peer, metric.key).map(([a, b]) =>
          metric.better === 'higher' ? a / b : b / a,
        );
        if (perRep.length === 0) continue;
        ratios.push({ ours: our, peer, metric: metric.key, ...ratioStats(perRep) });
      }
    }
  }
  return ratios;
}

/** A mode of edge-task-worker measured against the same settings without its additions. */
export interface ModeCostSummary {
  mode: string;
  /** The mode it adds to: the name before the first `-` (`best-tracing` → `best`). */
  base: string;
  metric: string;
  /** Median of the per-repetition ratios mode / base (for "lower is better" metrics too). */
  median: number;
  min: number;
  max: number;
  reps: number;
  /** A 90 % bootstrap interval of `median` (see medianInterval). */
  low: number;
  high: number;
}

/**
 * For each edge-task-worker mode named `<base>-<addition>` whose base mode ran too (`best-tracing`
 * and `best`), the ratio of each metric to the base's in the same repetition, and its median: what
 * the addition costs, with the machine's drift between repetitions taken out.
 */
export function summarizeModeCosts(
  runs: readonly RunResult[],
  metrics: readonly MetricSpec[],
): ModeCostSummary[] {
  const ok = runs.filter((run) => run.system === OURS && run.metrics);
  const modes = [...new Set(ok.map((run) => run.mode))];
  const costs: ModeCostSummary[] = [];
  for (const mode of modes) {
    const base = mode.slice(0, mode.indexOf('-'));
    if (!mode.includes('-') || !modes.includes(base)) continue;
    for (const metric of metrics) {
      const perRep = perRepetition(ok, `${OURS}/${mode}`, `${OURS}/${base}`, metric.key).map(
        ([a, b]) => a / b,
      );
      if (perRep.length > 0)
        costs.push({ mode, base, metric: metric.key, ...ratioStats(perRep), ...medianInterval(perRep) });
    }
  }
  return costs;
}

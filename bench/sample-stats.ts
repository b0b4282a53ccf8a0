/**
 * Order statistics of measured samples: median, percentiles, range.
 * @module
 */

/**
 * The p-th percentile (0–100) by linear interpolation between the closest ranks (the usual
 * "type 7" definition; the median of an even count is the mean of the two middle values).
 * @throws for an empty list.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lowValue = sorted[low] as number;
  return lowValue + ((sorted[high] as number) - lowValue) * (rank - low);
}

/** The median (50th percentile). */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Smallest and largest value. */
export function range(values: readonly number[]): { min: number; max: number } {
  return { min: Math.min(...values), max: Math.max(...values) };
}

/**
 * A 90 % bootstrap interval of the median: the 5th and 95th percentiles of the medians of
 * `rounds` resamples (with replacement) of `values`. Seeded, so the same values give the same
 * interval in every report.
 * @throws for an empty list.
 */
export function medianInterval(values: readonly number[], rounds = 2000): { low: number; high: number } {
  if (values.length === 0) throw new Error('interval of no values');
  let seed = 0x2545f491;
  const random = () => {
    // xorshift32: deterministic and good enough to pick resample indexes.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x1_0000_0000;
  };
  const medians: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const sample = values.map(() => values[Math.floor(random() * values.length)] as number);
    medians.push(median(sample));
  }
  return { low: percentile(medians, 5), high: percentile(medians, 95) };
}

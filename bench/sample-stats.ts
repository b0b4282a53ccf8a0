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

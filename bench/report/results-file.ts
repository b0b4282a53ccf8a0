/**
 * The raw results as JSON under `.cache/bench/` (gitignored): `latest.json`, plus a copy named
 * by the start time so earlier runs stay around for comparison.
 * @module
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { BenchSizes } from '../bench-options.ts';
import type { BusyMemoryResult } from '../workloads/busy-memory.ts';
import type { ClaimCostResult } from '../workloads/claim-cost.ts';
import type { FsyncLimitResult } from '../workloads/fsync-limit.ts';
import type { IdleResult } from '../workloads/idle.ts';
import type { LimitedClaimResult } from '../workloads/limited-claim.ts';
import type { WorkerMemoryResult } from '../workloads/worker-memory.ts';
import type { Conditions } from './machine-conditions.ts';
import type { RunResult } from './run-result.ts';
import type { ModeCostSummary, RatioSummary, VariantSummary } from './summarize.ts';

export interface ResultsFile {
  startedAt: string;
  finishedAt: string;
  /** 1, 5 and 15-minute load averages when the run ended. */
  loadAverageAtEnd: number[];
  options: {
    quick: boolean;
    reps: number;
    workloads: string[];
    systems: string[];
    peerDefaults?: boolean;
    idleMinutes?: number;
    modes?: string[];
  };
  sizes: BenchSizes;
  conditions: Conditions;
  runs: RunResult[];
  summaries: Array<{
    workload: string;
    variants: VariantSummary[];
    ratios: RatioSummary[];
    modeCosts?: ModeCostSummary[];
  }>;
  claimCost: ClaimCostResult | undefined;
  limitedClaim?: LimitedClaimResult | undefined;
  memory: WorkerMemoryResult[] | undefined;
  busyMemory?: BusyMemoryResult[] | undefined;
  fsyncLimit?: FsyncLimitResult | undefined;
  idle?: IdleResult[] | undefined;
}

const DEFAULT_DIR = '.cache/bench';

/** Writes the file; returns its path. */
export async function writeResults(file: ResultsFile, out: string | undefined): Promise<string> {
  const path = resolve(out ?? join(DEFAULT_DIR, 'latest.json'));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(file, null, 2)}\n`);
  if (!out) await copyFile(path, join(dirname(path), `${file.startedAt.replace(/[:.]/g, '-')}.json`));
  return path;
}

/**
 * What a workload that runs every system looks like to the runner: what it reports, and one
 * measured run of one system in one mode on a fresh namespace.
 * @module
 */
import type { BenchSizes } from '../bench-options.ts';
import type { ProgressStep } from '../progress-display.ts';
import type { QueueSystem, SystemWorkload } from '../systems/queue-system.ts';

/** One number a run reports. */
export interface MetricSpec {
  key: string;
  /** Column heading, e.g. "jobs/s" or "p50 ms". */
  label: string;
  better: 'higher' | 'lower';
  /** Decimals in the tables. */
  digits: number;
  /** Compare edge-task-worker with each peer on this metric (same-run ratios). */
  ratio?: boolean;
  /** Names the metric in a ratio cell when a workload compares more than one (e.g. "p99"). */
  ratioLabel?: string;
}

export interface RunContext {
  system: QueueSystem;
  mode: string;
  sizes: BenchSizes;
  progress: ProgressStep;
}

export interface SystemWorkloadSpec {
  id: SystemWorkload;
  title: string;
  /** One sentence on what is timed, printed above the table. */
  describe(sizes: BenchSizes): string;
  metrics: MetricSpec[];
  /** Measures one run; the namespace is fresh and the system is open. */
  run(context: RunContext): Promise<Record<string, number>>;
}

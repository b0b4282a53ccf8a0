/**
 * The raw record of one measured run, as kept in the results file.
 * @module
 */
import type { SystemName, SystemWorkload } from '../systems/queue-system.ts';

export interface RunResult {
  workload: SystemWorkload;
  system: SystemName;
  mode: string;
  /** Repetition, from 1. */
  rep: number;
  /** Position within the repetition (the order rotates between repetitions), from 1. */
  position: number;
  /** Schema or Redis prefix it ran on (removed afterwards). */
  namespace: string;
  metrics?: Record<string, number>;
  /** Set when the run failed; it is left out of medians and ratios. */
  error?: string;
}

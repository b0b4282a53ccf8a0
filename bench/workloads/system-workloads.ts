/**
 * Every workload that compares the systems, by name, in the order they run.
 * @module
 */
import type { Workload } from '../bench-options.ts';
import { drainConcurrency1Workload, drainWorkload } from './drain.ts';
import { enqueueBulkWorkload, enqueueSingleWorkload } from './enqueue.ts';
import { latencyWorkload } from './latency.ts';
import type { SystemWorkloadSpec } from './system-workload.ts';

export const SYSTEM_WORKLOAD_SPECS: Partial<Record<Workload, SystemWorkloadSpec>> = {
  drain: drainWorkload,
  'drain-c1': drainConcurrency1Workload,
  latency: latencyWorkload,
  'enqueue-single': enqueueSingleWorkload,
  'enqueue-bulk': enqueueBulkWorkload,
};

/**
 * Enqueue throughput, no worker running. Single: N awaited calls of the single-job API, one
 * after the other. Bulk: N jobs in awaited calls of the bulk API, `bulkBatch` jobs per call.
 * Both start with an untimed warm-up (pool connections, prepared statements, Lua scripts).
 * @module
 */
import type { BenchJob } from '../systems/queue-system.ts';
import type { SystemWorkloadSpec } from './system-workload.ts';

const SINGLE_WARM_UP = 20;
const BULK_WARM_UP = 100;

function noops(from: number, count: number): BenchJob[] {
  return Array.from({ length: count }, (_, k) => ({ kind: 'noop', i: from + k }));
}

export const enqueueSingleWorkload: SystemWorkloadSpec = {
  id: 'enqueue-single',
  title: 'Sequential single enqueue',
  describe: (sizes) =>
    `${sizes.singleJobs.toLocaleString('en-US')} jobs, one awaited single-enqueue call after another (after ${SINGLE_WARM_UP} untimed calls).`,
  metrics: [{ key: 'jobsPerSecond', label: 'jobs/s', better: 'higher', digits: 0, ratio: true }],
  async run({ system, sizes, progress }) {
    for (const job of noops(-SINGLE_WARM_UP, SINGLE_WARM_UP)) await system.enqueue(job);
    const jobs = noops(0, sizes.singleJobs);
    const started = performance.now();
    for (const job of jobs) {
      await system.enqueue(job);
      if (job.i % 100 === 0) progress.detail(`${job.i}/${jobs.length}`);
    }
    return { jobsPerSecond: jobs.length / ((performance.now() - started) / 1000) };
  },
};

export const enqueueBulkWorkload: SystemWorkloadSpec = {
  id: 'enqueue-bulk',
  title: 'Bulk enqueue',
  describe: (sizes) =>
    `${sizes.bulkJobs.toLocaleString('en-US')} jobs in awaited bulk calls of ${sizes.bulkBatch.toLocaleString('en-US')} (after one untimed call of ${BULK_WARM_UP}).`,
  metrics: [{ key: 'jobsPerSecond', label: 'jobs/s', better: 'higher', digits: 0, ratio: true }],
  async run({ system, sizes, progress }) {
    await system.enqueueMany(noops(-BULK_WARM_UP, BULK_WARM_UP));
    const batches: BenchJob[][] = [];
    for (let from = 0; from < sizes.bulkJobs; from += sizes.bulkBatch) {
      batches.push(noops(from, Math.min(sizes.bulkBatch, sizes.bulkJobs - from)));
    }
    const started = performance.now();
    let done = 0;
    for (const batch of batches) {
      await system.enqueueMany(batch);
      done += batch.length;
      progress.detail(`${done}/${sizes.bulkJobs}`);
    }
    return { jobsPerSecond: sizes.bulkJobs / ((performance.now() - started) / 1000) };
  },
};

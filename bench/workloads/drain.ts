/**
 * Drain: N no-op jobs are enqueued in bulk first (not timed); then the clock starts, the worker
 * is started, and the clock stops at the first check (every 20 ms) that finds no job left to
 * run: an `exists` probe of the system's own tables or Redis counts, cheap so that measuring
 * does not load the database under test. A full completion count then confirms all N.
 *
 * Two rates: "after start" counts from the moment the start call returned (the steady rate),
 * "incl. start" from just before the call (what a freshly deployed worker achieves). They differ
 * by the start-up (connections, LISTEN, and for edge-task-worker its execution threads, which
 * load the tasks module each: ~0.1 s per thread on the 2-core bench machine). Work done before the
 * start call returns counts in both; for every system that is at most its first fetch.
 * @module
 */
import type { BenchSizes } from '../bench-options.ts';
import { isPeerDefaultsMode, type BenchJob } from '../systems/queue-system.ts';
import { cpusBusyMicros, databaseCpus, machineBusyMicros } from '../machine-cpu.ts';
import { waitFor } from '../wait-for.ts';
import type { RunContext, SystemWorkloadSpec } from './system-workload.ts';

const ENQUEUE_BATCH = 1_000;
const POLL_MS = 20;
const PROGRESS_EVERY = 25;

async function drain({ system, progress }: RunContext, jobs: number): Promise<Record<string, number>> {
  for (let from = 0; from < jobs; from += ENQUEUE_BATCH) {
    const batch: BenchJob[] = [];
    for (let i = from; i < Math.min(jobs, from + ENQUEUE_BATCH); i++) batch.push({ kind: 'noop', i });
    await system.enqueueMany(batch);
    progress.detail(`enqueued ${from + batch.length}/${jobs}`);
  }
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  const machineAtStart = machineBusyMicros();
  const dbCpus = databaseCpus();
  const databaseAtStart = cpusBusyMicros(dbCpus);
  const worker = await system.startWorker();
  const ready = performance.now();
  let polls = 0;
  try {
    const finished = await waitFor(
      async () => {
        if (await system.isDrained()) return true;
        // The count reads more rows than the probe: shown now and then, not every poll.
        if (++polls % PROGRESS_EVERY === 0)
          progress.detail(`${await system.countCompleted()}/${jobs} completed`);
        return false;
      },
      {
        intervalMs: POLL_MS,
        // Generous: 50 jobs/s would be a broken setup, not a slow one.
        timeoutMs: 30_000 + (jobs / 50) * 1000,
        describe: () => `not all ${jobs} jobs completed`,
      },
    );
    const cpu = process.cpuUsage(cpuAtStart);
    const machineAtEnd = machineBusyMicros();
    const databaseAtEnd = cpusBusyMicros(dbCpus);
    const completed = await system.countCompleted();
    if (completed !== jobs) {
      const rest = (await system.describeUnfinished?.()) ?? '';
      throw new Error(
        `Drained, but ${completed} of ${jobs} jobs are recorded as completed${rest && `: ${rest}`}`,
      );
    }
    return {
      jobsPerSecond: jobs / ((finished - started) / 1000),
      startMs: ready - started,
      jobsPerSecondAfterStart: jobs / ((finished - ready) / 1000),
      seconds: (finished - started) / 1000,
      cpuMicrosPerJob: (cpu.user + cpu.system) / jobs,
      ...(machineAtStart !== undefined && machineAtEnd !== undefined
        ? { machineCpuMicrosPerJob: (machineAtEnd - machineAtStart) / jobs }
        : {}),
      ...(databaseAtStart !== undefined && databaseAtEnd !== undefined
        ? { databaseCpuMicrosPerJob: (databaseAtEnd - databaseAtStart) / jobs }
        : {}),
    };
  } finally {
    await worker.stop();
  }
}

const metrics: SystemWorkloadSpec['metrics'] = [
  {
    key: 'jobsPerSecondAfterStart',
    label: 'jobs/s after start',
    better: 'higher',
    digits: 0,
    ratio: true,
    ratioLabel: 'after start',
  },
  {
    key: 'jobsPerSecond',
    label: 'jobs/s incl. start',
    better: 'higher',
    digits: 0,
    ratio: true,
    ratioLabel: 'incl. start',
  },
  { key: 'startMs', label: 'start ms', better: 'lower', digits: 0 },
  // The bench process's own CPU (every thread of it: the worker, the bench's probes; not
  // Postgres or Redis), per job: steadier than the rate when comparing modes of one system.
  { key: 'cpuMicrosPerJob', label: 'process CPU µs/job', better: 'lower', digits: 1 },
  // Every process's (Postgres's too): what a job costs the machine (bench/machine-cpu.ts).
  { key: 'machineCpuMicrosPerJob', label: 'machine CPU µs/job', better: 'lower', digits: 1 },
  // The CPUs of BENCH_DATABASE_CPUS (Postgres pinned there, the bench elsewhere): the database's.
  { key: 'databaseCpuMicrosPerJob', label: 'database CPU µs/job', better: 'lower', digits: 1 },
];

export const drainWorkload: SystemWorkloadSpec = {
  id: 'drain',
  title: 'Drain at the best settings',
  describe: (sizes: BenchSizes) =>
    `${sizes.drainJobs.toLocaleString('en-US')} no-op jobs enqueued first (not timed); the clock stops at the first check (every ${POLL_MS} ms, an "exists" probe) finding no job left; a count then confirms all completed. ` +
    '"after start": from the return of the worker start call; "incl. start": from just before it; ' +
    '"process CPU": the bench process\'s CPU time (all its threads, where every worker runs) over the drain, per job; ' +
    '"machine CPU": every process\'s (Postgres and Redis too), from /proc/stat; ' +
    '"database CPU" (with BENCH_DATABASE_CPUS): the CPUs Postgres is pinned to.',
  metrics,
  run: (context) => drain(context, context.sizes.drainJobs),
};

/** A peer at its defaults drains one job per round trip (~250–500 jobs/s): a tenth of the jobs. */
const DEFAULTS_SHARE = 10;

export const drainConcurrency1Workload: SystemWorkloadSpec = {
  id: 'drain-c1',
  title: 'Drain at concurrency 1',
  describe: (sizes: BenchSizes) =>
    `${sizes.drainC1Jobs.toLocaleString('en-US')} no-op jobs enqueued first; one handler running at a time, ` +
    'every system prefetching and batching its write-backs as far as its options allow (peers at their defaults, ' +
    `with --peer-defaults: ${(sizes.drainC1Jobs / DEFAULTS_SHARE).toLocaleString('en-US')} jobs); timed as for the drain.`,
  metrics,
  run: (context) =>
    drain(
      context,
      isPeerDefaultsMode(context.mode)
        ? Math.round(context.sizes.drainC1Jobs / DEFAULTS_SHARE)
        : context.sizes.drainC1Jobs,
    ),
};

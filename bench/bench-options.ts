/**
 * Command line of `bench/run.ts` and the sizes each workload uses (full run or `--quick`).
 * @module
 */
import { parseArgs } from 'node:util';
import { SYSTEM_NAMES, type SystemName } from './systems/queue-system.ts';

export const WORKLOADS = [
  'drain',
  'drain-c1',
  'latency',
  'enqueue-single',
  'enqueue-bulk',
  'claim-cost',
  'limited-claim',
  'memory',
  'busy-memory',
  'fsync-limit',
  'idle',
] as const;
export type Workload = (typeof WORKLOADS)[number];

/** Run only when asked for with --only: the idle workload takes its whole window (5 minutes). */
const ON_REQUEST: readonly Workload[] = ['idle'];

/** How big each workload is. */
export interface BenchSizes {
  /** Jobs drained at the best settings. */
  drainJobs: number;
  /** Jobs drained at concurrency 1 (every system prefetches and batches there too). */
  drainC1Jobs: number;
  /** Latency samples with a notifier (LISTEN/NOTIFY, Redis). */
  latencySamples: number;
  /** Latency samples when the worker only polls (each waits up to the 1 s poll interval). */
  pollingSamples: number;
  /** Jobs enqueued one call at a time. */
  singleJobs: number;
  /** Jobs enqueued in bulk calls of `bulkBatch`. */
  bulkJobs: number;
  bulkBatch: number;
  /**
   * Backlogs of the claim-cost workload: a table per entry, holding beside the due tasks that
   * many delayed tasks, that many due tasks of another queue and that many finished tasks (0:
   * only the due tasks, the baseline).
   */
  claimBacklogs: number[];
  /** Claims timed per table size and repetition. */
  claims: number;
  /** Due tasks of each queue of the limited-claim workload (one unlimited, three limited). */
  limitedClaimTasks: number;
  /** Claims timed per queue and batch size in limited-claim. */
  limitedClaims: number;
  /** Batch sizes (tasks per claim) of limited-claim. */
  limitedClaimBatches: number[];
  /** Jobs each worker process drains in the memory workload. */
  memoryJobs: number;
  /** `sleep` jobs (200 ms each) each worker process runs, 50 at a time, in busy-memory. */
  busyJobs: number;
  /** Single-row inserts timed by fsync-limit (each kind), 20 ms apart. */
  fsyncSamples: number;
  /** Seconds of each pg_test_fsync test (about 15 tests); the pgbench insert run takes 5×. */
  fsyncSeconds: number;
}

export const FULL_SIZES: BenchSizes = {
  drainJobs: 20_000,
  drainC1Jobs: 20_000,
  latencySamples: 200,
  pollingSamples: 20,
  singleJobs: 1_000,
  bulkJobs: 20_000,
  bulkBatch: 1_000,
  claimBacklogs: [0, 100_000, 1_000_000],
  claims: 200,
  limitedClaimTasks: 25_000,
  limitedClaims: 150,
  limitedClaimBatches: [1, 10, 100],
  memoryJobs: 2_000,
  busyJobs: 1_000,
  fsyncSamples: 400,
  fsyncSeconds: 2,
};

export const QUICK_SIZES: BenchSizes = {
  drainJobs: 5_000,
  drainC1Jobs: 5_000,
  latencySamples: 50,
  pollingSamples: 5,
  singleJobs: 300,
  bulkJobs: 5_000,
  bulkBatch: 1_000,
  claimBacklogs: [0, 100_000],
  claims: 200,
  limitedClaimTasks: 8_000,
  limitedClaims: 50,
  limitedClaimBatches: [1, 10, 100],
  memoryJobs: 2_000,
  busyJobs: 500,
  fsyncSamples: 200,
  fsyncSeconds: 1,
};

export interface BenchOptions {
  quick: boolean;
  reps: number;
  workloads: Workload[];
  systems: SystemName[];
  sizes: BenchSizes;
  /** Where the raw results go (default: .cache/bench/latest.json). */
  out: string | undefined;
  /** Also run the peers' `…-defaults` modes (see isPeerDefaultsMode). */
  peerDefaults: boolean;
  /** Length of the idle workload's counting window. */
  idleMinutes: number;
  /** Only these modes (names as in the report, e.g. `best,best-tracing`); undefined: all. */
  modes: string[] | undefined;
}

const SYSTEM_ALIASES: Record<string, SystemName> = {
  ours: 'edge-task-worker',
  etw: 'edge-task-worker',
  graphile: 'graphile-worker',
  pgboss: 'pg-boss',
  bull: 'bullmq',
};

export const USAGE = `usage: node bench/run.ts [--quick] [--reps N] [--only workload,...] [--systems name,...] [--out file]

  --quick          1 repetition and small sizes (about 1-2 minutes)
  --reps N         repetitions of each system workload (default: 3; --quick: 1)
  --only LIST      workloads: ${WORKLOADS.join(', ')}
                   (default: all but ${ON_REQUEST.join(', ')})
  --systems LIST   ${SYSTEM_NAMES.join(', ')} (aliases: ours, graphile, pgboss) (default: all)
  --peer-defaults  also run the peers at their defaults (modes named *-defaults; reference only)
  --idle-minutes N the idle workload's counting window (default: 5)
  --modes LIST     only these modes (e.g. best,best-tracing); a system without any of them is skipped
  --drain-jobs N   jobs per drain and drain-c1 run (default: 20000; --quick: 5000)
  --out FILE       raw results as JSON (default: .cache/bench/latest.json)

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test),
BENCH_REDIS_URL (default redis://127.0.0.1:6379/13). Schemas are named bench_<run>_*, Redis
keys bench_<run>_*; both are removed at the end.`;

function list<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  what: string,
  aliases: Record<string, T> = {},
): T[] {
  if (value === undefined) return [...allowed];
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean)
    .map((name) => aliases[name] ?? name);
  for (const name of names) {
    if (!allowed.includes(name as T)) {
      throw new Error(`Unknown ${what} "${name}"; choose from ${allowed.join(', ')}.`);
    }
  }
  // Keep the canonical order whatever order was given.
  return allowed.filter((name) => names.includes(name));
}

/** Parses argv (without node and the script). Throws with a message naming a bad option. */
export function parseBenchOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      reps: { type: 'string' },
      only: { type: 'string' },
      systems: { type: 'string' },
      out: { type: 'string' },
      'peer-defaults': { type: 'boolean', default: false },
      'idle-minutes': { type: 'string' },
      modes: { type: 'string' },
      'drain-jobs': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const quick = values.quick === true;
  const reps = values.reps === undefined ? (quick ? 1 : 3) : Number(values.reps);
  if (!Number.isInteger(reps) || reps < 1 || reps > 50) {
    throw new Error(`--reps must be an integer from 1 to 50, got ${values.reps}.`);
  }
  const systems = list(values.systems, SYSTEM_NAMES, 'system', SYSTEM_ALIASES);
  if (systems.length === 0) throw new Error('--systems is empty.');
  const idleMinutes = values['idle-minutes'] === undefined ? 5 : Number(values['idle-minutes']);
  if (!Number.isFinite(idleMinutes) || idleMinutes <= 0 || idleMinutes > 60) {
    throw new Error(`--idle-minutes must be a number above 0 and at most 60, got ${values['idle-minutes']}.`);
  }
  const workloads = list(values.only, WORKLOADS, 'workload');
  const base = quick ? QUICK_SIZES : FULL_SIZES;
  const drainJobs = values['drain-jobs'] === undefined ? base.drainJobs : Number(values['drain-jobs']);
  if (!Number.isInteger(drainJobs) || drainJobs < 100 || drainJobs > 1_000_000) {
    throw new Error(`--drain-jobs must be an integer from 100 to 1000000, got ${values['drain-jobs']}.`);
  }
  const modes = values.modes
    ?.split(',')
    .map((mode) => mode.trim())
    .filter(Boolean);
  if (modes?.length === 0) throw new Error('--modes is empty.');
  return {
    quick,
    reps,
    workloads:
      values.only === undefined ? workloads.filter((workload) => !ON_REQUEST.includes(workload)) : workloads,
    systems,
    sizes: values['drain-jobs'] === undefined ? base : { ...base, drainJobs, drainC1Jobs: drainJobs },
    out: values.out,
    peerDefaults: values['peer-defaults'] === true,
    idleMinutes,
    modes,
  };
}

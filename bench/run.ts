/**
 * `npm run bench`: edge-task-worker against graphile-worker, pg-boss and BullMQ on the same
 * Postgres and Redis, in the same run, alternating. See docs/BENCHMARKS.md for what each
 * workload measures and how.
 *
 * Results (tables) go to stdout, the progress display to stderr, the raw results as JSON to
 * `.cache/bench/latest.json` (gitignored, like all of .cache/).
 * @module
 */
import { loadavg } from 'node:os';
import { benchEnvironment } from './bench-environment.ts';
import { parseBenchOptions, USAGE, type BenchOptions, type Workload } from './bench-options.ts';
import { BenchNamespaces } from './bench-namespaces.ts';
import { ProgressDisplay } from './progress-display.ts';
import { formatModeCosts, formatRatios, formatVariants } from './report/format-results.ts';
import { collectConditions, formatConditions, type Conditions } from './report/machine-conditions.ts';
import { writeResults, type ResultsFile } from './report/results-file.ts';
import type { RunResult } from './report/run-result.ts';
import { summarizeModeCosts, summarizeRatios, summarizeVariants } from './report/summarize.ts';
import { runSystemWorkload } from './run-system-workload.ts';
import { SYSTEMS } from './systems/all-systems.ts';
import { busyMemoryWorkload, formatBusyMemory } from './workloads/busy-memory.ts';
import { claimCostWorkload, formatClaimCost } from './workloads/claim-cost.ts';
import { formatFsyncLimit, fsyncLimitWorkload } from './workloads/fsync-limit.ts';
import { formatIdle, idleWorkload } from './workloads/idle.ts';
import { formatLimitedClaim, limitedClaimWorkload } from './workloads/limited-claim.ts';
import type { SystemWorkloadSpec } from './workloads/system-workload.ts';
import { formatWorkerMemory, workerMemoryWorkload } from './workloads/worker-memory.ts';
import { SYSTEM_WORKLOAD_SPECS } from './workloads/system-workloads.ts';

const environment = benchEnvironment();

function parse(): BenchOptions {
  try {
    const parsed = parseBenchOptions(process.argv.slice(2));
    if (parsed === 'help') {
      console.log(USAGE);
      process.exit(0);
    }
    return parsed;
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    process.exit(2);
  }
}

/** What the workloads other than the system workloads measured, and every system workload run. */
type Outcome = Pick<
  ResultsFile,
  'runs' | 'claimCost' | 'limitedClaim' | 'memory' | 'busyMemory' | 'fsyncLimit' | 'idle'
>;

async function runSystemSpec(
  spec: SystemWorkloadSpec,
  options: BenchOptions,
  shared: { namespaces: BenchNamespaces; progress: ProgressDisplay },
): Promise<RunResult[]> {
  const results = await runSystemWorkload(spec, {
    environment,
    systems: options.systems.map((name) => SYSTEMS[name]),
    sizes: options.sizes,
    reps: options.reps,
    peerDefaults: options.peerDefaults,
    modes: options.modes,
    ...shared,
  });
  console.log(`\n## ${spec.title}\n${spec.describe(options.sizes)}\n`);
  console.log(formatVariants(summarizeVariants(results, spec.metrics), spec.metrics, 'text'));
  const ratios = formatRatios(summarizeRatios(results, spec.metrics), spec.metrics, 'text');
  if (ratios)
    console.log(`\nSame-run ratio, median of repetitions (> 1: edge-task-worker better)\n${ratios}`);
  const costs = formatModeCosts(summarizeModeCosts(results, spec.metrics), spec.metrics, 'text');
  if (costs)
    console.log(
      `\nModes against the same settings without their addition, same repetition (median, 90 % bootstrap interval)\n${costs}`,
    );
  return results;
}

/** Runs one workload, prints its tables and keeps its results in `outcome`. */
async function runWorkload(
  workload: Workload,
  options: BenchOptions,
  shared: { namespaces: BenchNamespaces; progress: ProgressDisplay },
  outcome: Outcome,
): Promise<void> {
  const spec = SYSTEM_WORKLOAD_SPECS[workload];
  const systems = options.systems.map((name) => SYSTEMS[name]);
  const common = { environment, sizes: options.sizes, ...shared };
  if (spec) {
    outcome.runs.push(...(await runSystemSpec(spec, options, shared)));
  } else if (workload === 'claim-cost') {
    outcome.claimCost = await claimCostWorkload({ ...common, reps: options.reps });
    console.log(`\n${formatClaimCost(outcome.claimCost, 'text')}`);
  } else if (workload === 'limited-claim') {
    outcome.limitedClaim = await limitedClaimWorkload(common);
    console.log(`\n${formatLimitedClaim(outcome.limitedClaim, 'text')}`);
  } else if (workload === 'memory') {
    outcome.memory = await workerMemoryWorkload({ ...common, systems });
    console.log(`\n${formatWorkerMemory(outcome.memory, 'text')}`);
  } else if (workload === 'busy-memory') {
    outcome.busyMemory = await busyMemoryWorkload({ ...common, systems });
    console.log(`\n${formatBusyMemory(outcome.busyMemory, 'text')}`);
  } else if (workload === 'fsync-limit') {
    outcome.fsyncLimit = await fsyncLimitWorkload(common);
    console.log(`\n${formatFsyncLimit(outcome.fsyncLimit, 'text')}`);
  } else if (workload === 'idle') {
    outcome.idle = await idleWorkload({
      environment,
      systems,
      minutes: options.idleMinutes,
      progress: shared.progress,
    });
    console.log(`\n${formatIdle(outcome.idle, 'text')}`);
  }
}

/** The raw results of the run, as written to .cache/bench/. */
function resultsFile(
  options: BenchOptions,
  startedAt: Date,
  conditions: Conditions,
  outcome: Outcome,
): ResultsFile {
  const { runs } = outcome;
  return {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    // Other people's test runs share the machine: the load at the end says whether they did.
    loadAverageAtEnd: loadavg().map((load) => Math.round(load * 100) / 100),
    options: {
      quick: options.quick,
      reps: options.reps,
      workloads: options.workloads,
      systems: options.systems,
      peerDefaults: options.peerDefaults,
      idleMinutes: options.idleMinutes,
      modes: options.modes,
    },
    sizes: options.sizes,
    conditions,
    runs,
    summaries: options.workloads.flatMap((workload) => {
      const spec = SYSTEM_WORKLOAD_SPECS[workload];
      if (!spec) return [];
      const results = runs.filter((run) => run.workload === workload);
      return [
        {
          workload,
          variants: summarizeVariants(results, spec.metrics),
          ratios: summarizeRatios(results, spec.metrics),
          modeCosts: summarizeModeCosts(results, spec.metrics),
        },
      ];
    }),
    claimCost: outcome.claimCost,
    limitedClaim: outcome.limitedClaim,
    memory: outcome.memory,
    busyMemory: outcome.busyMemory,
    fsyncLimit: outcome.fsyncLimit,
    idle: outcome.idle,
  };
}

async function main(): Promise<void> {
  const options = parse();
  const progress = new ProgressDisplay();
  const namespaces = new BenchNamespaces();
  let interrupted = false;
  // Ctrl-C: remove this run's schemas and keys before leaving; a second Ctrl-C leaves at once.
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    progress.stop();
    console.error(`\nInterrupted: removing ${namespaces.prefix}* ...`);
    namespaces
      .removeAll(environment)
      .catch((error: unknown) => console.error(`Clean-up failed: ${String(error)}`))
      .finally(() => process.exit(130));
  });

  const startedAt = new Date();
  const conditions = await collectConditions(environment, options);
  console.log(formatConditions(conditions));
  const outcome: Outcome = { runs: [], claimCost: undefined, memory: undefined };
  try {
    for (const workload of options.workloads)
      await runWorkload(workload, options, { namespaces, progress }, outcome);
  } finally {
    progress.stop();
    const removed = await namespaces.removeAll(environment).catch((error: unknown) => {
      console.error(`Clean-up failed: ${String(error)}`);
      return undefined;
    });
    if (removed && (removed.schemas.length > 0 || removed.keys > 0)) {
      console.error(`Removed leftovers: ${removed.schemas.length} schemas, ${removed.keys} Redis keys.`);
    }
  }
  const file = resultsFile(options, startedAt, conditions, outcome);
  console.log(
    `\nLoad average at the end (1/5/15 min): ${file.loadAverageAtEnd.join(', ')} on ${conditions.cpus} CPUs` +
      ` (at the start: ${conditions.loadAverage}).`,
  );
  const path = await writeResults(file, options.out);
  console.error(`\nRaw results: ${path}`);
  if (outcome.runs.some((run) => run.error)) process.exitCode = 1;
}

await main();

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
import { parseBenchOptions, USAGE, type BenchOptions } from './bench-options.ts';
import { BenchNamespaces } from './bench-namespaces.ts';
import { ProgressDisplay } from './progress-display.ts';
import { formatRatios, formatVariants } from './report/format-results.ts';
import { collectConditions, formatConditions } from './report/machine-conditions.ts';
import { writeResults, type ResultsFile } from './report/results-file.ts';
import type { RunResult } from './report/run-result.ts';
import { summarizeRatios, summarizeVariants } from './report/summarize.ts';
import { runSystemWorkload } from './run-system-workload.ts';
import { SYSTEMS } from './systems/all-systems.ts';
import { claimCostWorkload, formatClaimCost, type ClaimCostResult } from './workloads/claim-cost.ts';
import {
  formatWorkerMemory,
  workerMemoryWorkload,
  type WorkerMemoryResult,
} from './workloads/worker-memory.ts';
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
  const systems = options.systems.map((name) => SYSTEMS[name]);
  const runs: RunResult[] = [];
  let claimCost: ClaimCostResult | undefined;
  let memory: WorkerMemoryResult[] | undefined;

  try {
    for (const workload of options.workloads) {
      const spec = SYSTEM_WORKLOAD_SPECS[workload];
      if (spec) {
        const results = await runSystemWorkload(spec, {
          environment,
          systems,
          sizes: options.sizes,
          reps: options.reps,
          namespaces,
          progress,
        });
        runs.push(...results);
        console.log(`\n## ${spec.title}\n${spec.describe(options.sizes)}\n`);
        console.log(formatVariants(summarizeVariants(results, spec.metrics), spec.metrics, 'text'));
        const ratios = formatRatios(summarizeRatios(results, spec.metrics), spec.metrics, 'text');
        if (ratios)
          console.log(`\nSame-run ratio, median of repetitions (> 1: edge-task-worker better)\n${ratios}`);
      } else if (workload === 'claim-cost') {
        claimCost = await claimCostWorkload({
          environment,
          sizes: options.sizes,
          reps: options.reps,
          namespaces,
          progress,
        });
        console.log(`\n${formatClaimCost(claimCost, 'text')}`);
      } else if (workload === 'memory') {
        memory = await workerMemoryWorkload({
          environment,
          systems,
          sizes: options.sizes,
          namespaces,
          progress,
        });
        console.log(`\n${formatWorkerMemory(memory, 'text')}`);
      }
    }
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

  const file: ResultsFile = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    // Other people's test runs share the machine: the load at the end says whether they did.
    loadAverageAtEnd: loadavg().map((load) => Math.round(load * 100) / 100),
    options: {
      quick: options.quick,
      reps: options.reps,
      workloads: options.workloads,
      systems: options.systems,
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
        },
      ];
    }),
    claimCost,
    memory,
  };
  console.log(
    `\nLoad average at the end (1/5/15 min): ${file.loadAverageAtEnd.join(', ')} on ${conditions.cpus} CPUs` +
      ` (at the start: ${conditions.loadAverage}).`,
  );
  const path = await writeResults(file, options.out);
  console.error(`\nRaw results: ${path}`);
  if (runs.some((run) => run.error)) process.exitCode = 1;
}

await main();

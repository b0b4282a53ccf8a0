/**
 * Prints a results file as the markdown tables of docs/BENCHMARKS.md:
 * `node bench/results-to-markdown.ts [.cache/bench/latest.json]`.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { formatRatios, formatVariants } from './report/format-results.ts';
import type { ResultsFile } from './report/results-file.ts';
import { formatClaimCost } from './workloads/claim-cost.ts';
import type { Workload } from './bench-options.ts';
import { SYSTEM_WORKLOAD_SPECS } from './workloads/system-workloads.ts';
import { formatWorkerMemory } from './workloads/worker-memory.ts';
import { formatBusyMemory } from './workloads/busy-memory.ts';
import { formatFsyncLimit } from './workloads/fsync-limit.ts';
import { formatIdle } from './workloads/idle.ts';
import { formatLimitedClaim } from './workloads/limited-claim.ts';

const path = process.argv[2] ?? '.cache/bench/latest.json';
const file = JSON.parse(await readFile(path, 'utf8')) as ResultsFile;
const sections: string[] = [];
for (const summary of file.summaries) {
  const spec = SYSTEM_WORKLOAD_SPECS[summary.workload as Workload];
  if (!spec) continue;
  const ratios = formatRatios(summary.ratios, spec.metrics, 'markdown');
  sections.push(
    `### ${spec.title}\n\n${spec.describe(file.sizes)}\n\n${formatVariants(summary.variants, spec.metrics, 'markdown')}` +
      (ratios
        ? `\n\nSame-run ratio (median of repetitions; > 1: edge-task-worker better):\n\n${ratios}`
        : ''),
  );
}
if (file.claimCost)
  sections.push(`### Claim cost against a backlog\n\n${formatClaimCost(file.claimCost, 'markdown')}`);
if (file.limitedClaim)
  sections.push(`### Limited vs unlimited claims\n\n${formatLimitedClaim(file.limitedClaim, 'markdown')}`);
if (file.memory) sections.push(`### Worker memory\n\n${formatWorkerMemory(file.memory, 'markdown')}`);
if (file.busyMemory)
  sections.push(`### Worker memory, 50 busy jobs\n\n${formatBusyMemory(file.busyMemory, 'markdown')}`);
if (file.fsyncLimit) sections.push(`### The fsync limit\n\n${formatFsyncLimit(file.fsyncLimit, 'markdown')}`);
if (file.idle) sections.push(`### Idle worker\n\n${formatIdle(file.idle, 'markdown')}`);
console.log(sections.join('\n\n'));

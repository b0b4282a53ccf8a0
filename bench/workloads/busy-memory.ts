/**
 * Worker memory with 50 busy tasks: a worker process at concurrency 50 (edge-task-worker with
 * its execution threads, and with isolation none) runs `busyJobs` `sleep` jobs, each holding its
 * slot for 200 ms, so 50 run at once the whole time. With threads, edge-task-worker's pool grows
 * to 50 (it starts a thread per waiting task once every thread has been on its task for 50 ms).
 * The resident set of the worker's process tree (the process and any children) is sampled every
 * 100 ms from /proc while the jobs run; reported: idle RSS (1 s after ready), the largest sample,
 * the kernel's peak (VmHWM), the most threads seen, and how long the jobs took (the floor is
 * busyJobs ÷ 50 × 0.2 s). Processes are started as in the memory workload (memory-targets.ts).
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchSizes } from '../bench-options.ts';
import type { BenchNamespaces } from '../bench-namespaces.ts';
import type { ChildWorker } from '../child-worker-process.ts';
import { readProcessTreeMemory } from '../process-memory.ts';
import type { ProgressDisplay, ProgressStep } from '../progress-display.ts';
import { formatNumber, type TableStyle } from '../report/format-results.ts';
import { markdownTable, textTable } from '../report/text-table.ts';
import { SLEEP_JOB_MS, type BenchEnvironment, type SystemDefinition } from '../systems/queue-system.ts';
import { ourMemoryTarget, peerMemoryTarget, READY_TIMEOUT_MS, type MemoryTarget } from './memory-targets.ts';

const IDLE_SETTLE_MS = 1000;
const SAMPLE_MS = 100;
const CONCURRENCY = 50;

export interface BusyMemoryResult {
  system: string;
  mode: string;
  jobs: number;
  idleRssMiB?: number;
  /** Largest RSS of the process tree among the samples taken while the jobs ran. */
  maxRssMiB?: number;
  /** VmHWM of the tree's processes, added up, at the end. */
  peakRssMiB?: number;
  maxThreads?: number;
  maxProcesses?: number;
  seconds?: number;
  error?: string;
}

/** Samples the tree until every job completed; fills in the maxima and the time taken. */
async function sampleUntilDone(
  child: ChildWorker,
  target: MemoryTarget,
  result: BusyMemoryResult,
  step: ProgressStep,
): Promise<void> {
  const started = performance.now();
  const timeoutMs = 60_000 + (result.jobs / CONCURRENCY) * SLEEP_JOB_MS * 10;
  let completed = 0;
  while (completed < result.jobs) {
    const memory = await readProcessTreeMemory(child.pid);
    result.maxRssMiB = Math.max(result.maxRssMiB ?? 0, memory.rssMiB);
    result.maxThreads = Math.max(result.maxThreads ?? 0, memory.threads);
    result.maxProcesses = Math.max(result.maxProcesses ?? 0, memory.processes);
    completed = await target.completed();
    step.detail(
      `${completed}/${result.jobs} completed, RSS ${memory.rssMiB.toFixed(0)} MiB, ${memory.threads} threads`,
    );
    if (performance.now() - started > timeoutMs) throw new Error(`${completed} of ${result.jobs} completed`);
    if (completed < result.jobs) await sleep(SAMPLE_MS);
  }
  result.seconds = (performance.now() - started) / 1000;
  result.peakRssMiB = (await readProcessTreeMemory(child.pid)).peakRssMiB;
}

async function measure(
  run: { environment: BenchEnvironment; sizes: BenchSizes; namespaces: BenchNamespaces },
  definition: SystemDefinition,
  mode: string,
  step: ProgressStep,
): Promise<BusyMemoryResult> {
  const result: BusyMemoryResult = { system: definition.name, mode, jobs: run.sizes.busyJobs };
  const namespace = run.namespaces.next(definition.name);
  let target: MemoryTarget | undefined;
  let child: ChildWorker | undefined;
  try {
    target =
      definition.name === 'edge-task-worker'
        ? await ourMemoryTarget(run.environment, namespace, {
            concurrency: CONCURRENCY,
            isolation: mode.endsWith('-none') ? 'none' : 'thread',
            kind: 'sleep',
          })
        : await peerMemoryTarget(run.environment, definition, mode, namespace, 'sleep');
    child = target.start();
    await child.waitForEvent(target.readyEvent, READY_TIMEOUT_MS);
    await sleep(IDLE_SETTLE_MS);
    result.idleRssMiB = (await readProcessTreeMemory(child.pid)).rssMiB;
    await target.enqueue(result.jobs);
    await sampleUntilDone(child, target, result, step);
    step.done(
      `RSS idle ${result.idleRssMiB.toFixed(0)} MiB, max ${result.maxRssMiB?.toFixed(0)} MiB, ` +
        `peak ${result.peakRssMiB?.toFixed(0)} MiB, ${result.maxThreads} threads, ${result.seconds?.toFixed(1)} s`,
    );
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    step.done(`FAILED: ${result.error}`);
  } finally {
    await child?.stop().catch(() => undefined);
    await target
      ?.close()
      .catch((error: unknown) => step.detail(`clean-up of ${namespace} failed: ${String(error)}`));
  }
  return result;
}

export async function busyMemoryWorkload(run: {
  environment: BenchEnvironment;
  systems: readonly SystemDefinition[];
  sizes: BenchSizes;
  namespaces: BenchNamespaces;
  progress: ProgressDisplay;
}): Promise<BusyMemoryResult[]> {
  const results: BusyMemoryResult[] = [];
  for (const definition of run.systems) {
    for (const mode of Object.keys(definition.modes['busy-memory'] ?? {})) {
      const step = run.progress.start(
        'busy-memory',
        `${definition.name}/${mode}`,
        `${run.sizes.busyJobs} jobs`,
      );
      results.push(await measure(run, definition, mode, step));
    }
  }
  return results;
}

export function formatBusyMemory(results: readonly BusyMemoryResult[], style: TableStyle): string {
  const header = [
    'system / mode',
    'RSS idle MiB',
    'RSS max MiB (sampled)',
    'peak RSS MiB (VmHWM)',
    'threads max',
    's',
  ];
  const mib = (value: number | undefined) => (value === undefined ? '–' : formatNumber(value, 0));
  const rows = results.map((r) => [
    `${r.system} / ${r.mode}`,
    mib(r.idleRssMiB),
    mib(r.maxRssMiB),
    mib(r.peakRssMiB),
    r.maxThreads === undefined ? '–' : String(r.maxThreads),
    r.seconds === undefined ? (r.error ? 'failed' : '–') : formatNumber(r.seconds, 1),
  ]);
  const table = style === 'markdown' ? markdownTable(header, rows) : textTable(header, rows);
  const title = `## Worker memory, ${CONCURRENCY} busy jobs (${SLEEP_JOB_MS} ms each) at once\n`;
  return `${style === 'markdown' ? '' : title}${table}`;
}

/**
 * Worker memory: a worker process at concurrency 1 and 50 (edge-task-worker also at 50 with
 * isolation none), started on an empty queue; its
 * resident set is read from /proc 1 s after it said it is ready (idle), then it drains
 * `memoryJobs` no-op jobs enqueued in bulk, and the resident set and its peak are read 0.5 s
 * after the last completion. edge-task-worker runs as `task-worker run` from the build (the
 * CLI of `dist/`, as the published package runs it, with bench/fixtures/bench-tasks.js);
 * peers run as `bench/peer-worker.ts` with their memory modes.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchSizes } from '../bench-options.ts';
import type { BenchNamespaces } from '../bench-namespaces.ts';
import type { ChildWorker } from '../child-worker-process.ts';
import { readProcessMemory, type ProcessMemory } from '../process-memory.ts';
import type { ProgressDisplay } from '../progress-display.ts';
import { formatNumber, type TableStyle } from '../report/format-results.ts';
import { markdownTable, textTable } from '../report/text-table.ts';
import type { BenchEnvironment, SystemDefinition } from '../systems/queue-system.ts';
import { waitFor } from '../wait-for.ts';
import { ourMemoryTarget, peerMemoryTarget, READY_TIMEOUT_MS, type MemoryTarget } from './memory-targets.ts';

const IDLE_SETTLE_MS = 1000;
const DRAINED_SETTLE_MS = 500;

export interface WorkerMemoryResult {
  system: string;
  mode: string;
  concurrency: number;
  idle?: ProcessMemory;
  drained?: ProcessMemory;
  drainSeconds?: number;
  error?: string;
}

export async function workerMemoryWorkload(run: {
  environment: BenchEnvironment;
  systems: readonly SystemDefinition[];
  sizes: BenchSizes;
  namespaces: BenchNamespaces;
  progress: ProgressDisplay;
}): Promise<WorkerMemoryResult[]> {
  const results: WorkerMemoryResult[] = [];
  const jobs = run.sizes.memoryJobs;
  for (const definition of run.systems) {
    for (const mode of Object.keys(definition.modes.memory ?? {})) {
      // Mode names say the concurrency (`c50`) and, for edge-task-worker, the isolation (`-none`).
      const concurrency = Number(/^c(\d+)/.exec(mode)?.[1] ?? 1);
      const isolation = mode.endsWith('-none') ? 'none' : 'thread';
      const result: WorkerMemoryResult = { system: definition.name, mode, concurrency };
      const namespace = run.namespaces.next(definition.name);
      const step = run.progress.start('memory', `${definition.name}/${mode}`, `${jobs} jobs`);
      let target: MemoryTarget | undefined;
      let child: ChildWorker | undefined;
      try {
        target =
          definition.name === 'edge-task-worker'
            ? await ourMemoryTarget(run.environment, namespace, { concurrency, isolation, kind: 'noop' })
            : await peerMemoryTarget(run.environment, definition, mode, namespace, 'noop');
        child = target.start();
        await child.waitForEvent(target.readyEvent, READY_TIMEOUT_MS);
        await sleep(IDLE_SETTLE_MS);
        result.idle = await readProcessMemory(child.pid);
        step.detail(`idle ${result.idle.rssMiB.toFixed(0)} MiB; enqueueing`);
        await target.enqueue(jobs);
        const started = performance.now();
        let completed = 0;
        const done = await waitFor(
          async () => {
            completed = await target!.completed();
            step.detail(`${completed}/${jobs} completed`);
            return completed >= jobs;
          },
          { intervalMs: 50, timeoutMs: 180_000, describe: () => `${completed} of ${jobs} completed` },
        );
        result.drainSeconds = (done - started) / 1000;
        await sleep(DRAINED_SETTLE_MS);
        result.drained = await readProcessMemory(child.pid);
        step.done(
          `RSS idle ${result.idle.rssMiB.toFixed(0)} MiB, after drain ${result.drained.rssMiB.toFixed(0)} MiB, peak ${result.drained.peakRssMiB.toFixed(0)} MiB`,
        );
      } catch (error) {
        result.error = error instanceof Error ? error.message : String(error);
        step.done(`FAILED: ${result.error}`);
      } finally {
        await child?.stop().catch(() => undefined);
        await target
          ?.close()
          .catch((error: unknown) =>
            run.progress.note(`  clean-up of ${namespace} failed: ${String(error)}`),
          );
      }
      results.push(result);
    }
  }
  return results;
}

export function formatWorkerMemory(results: readonly WorkerMemoryResult[], style: TableStyle): string {
  const header = [
    'system / mode',
    'RSS idle MiB',
    'RSS after drain MiB',
    'peak RSS MiB',
    'threads',
    'drain s',
  ];
  const rows = results.map((r) => [
    `${r.system} / ${r.mode}`,
    r.idle ? formatNumber(r.idle.rssMiB, 0) : '–',
    r.drained ? formatNumber(r.drained.rssMiB, 0) : '–',
    r.drained ? formatNumber(r.drained.peakRssMiB, 0) : '–',
    r.drained ? String(r.drained.threads) : r.idle ? String(r.idle.threads) : '–',
    r.drainSeconds === undefined ? (r.error ? 'failed' : '–') : formatNumber(r.drainSeconds, 1),
  ]);
  const table = style === 'markdown' ? markdownTable(header, rows) : textTable(header, rows);
  return `${style === 'markdown' ? '' : '## Worker memory (one process, worker threads included)\n'}${table}`;
}

/**
 * Runs one workload for every selected system and mode, `reps` times. Each repetition runs
 * every system once, in an order rotated by one per repetition (A B C D, then B C D A, ...), so
 * no system always runs first (cold caches) or last (a warm, but fuller, database). Every run
 * gets a fresh schema or Redis prefix, removed right after it. A peer's `…-defaults` modes run
 * only when asked for.
 * @module
 */
import type { BenchSizes } from './bench-options.ts';
import type { BenchNamespaces } from './bench-namespaces.ts';
import type { ProgressDisplay } from './progress-display.ts';
import type { RunResult } from './report/run-result.ts';
import { formatNumber } from './report/format-results.ts';
import { isPeerDefaultsMode, type BenchEnvironment, type SystemDefinition } from './systems/queue-system.ts';
import type { SystemWorkloadSpec } from './workloads/system-workload.ts';

export interface SystemWorkloadRun {
  environment: BenchEnvironment;
  systems: readonly SystemDefinition[];
  sizes: BenchSizes;
  reps: number;
  namespaces: BenchNamespaces;
  progress: ProgressDisplay;
  /** Also run the peers' `…-defaults` modes. */
  peerDefaults: boolean;
  /** Only these modes (undefined: all). */
  modes?: readonly string[];
}

function rotate<T>(list: readonly T[], by: number): T[] {
  const shift = by % Math.max(list.length, 1);
  return [...list.slice(shift), ...list.slice(0, shift)];
}

export async function runSystemWorkload(
  spec: SystemWorkloadSpec,
  run: SystemWorkloadRun,
): Promise<RunResult[]> {
  const variants = run.systems.flatMap((definition) =>
    Object.keys(definition.modes[spec.id] ?? {})
      .filter((mode) => run.peerDefaults || !isPeerDefaultsMode(mode))
      .filter((mode) => !run.modes || run.modes.includes(mode))
      .map((mode) => ({ definition, mode })),
  );
  const results: RunResult[] = [];
  for (let rep = 1; rep <= run.reps; rep++) {
    const order = rotate(variants, rep - 1);
    for (const [index, { definition, mode }] of order.entries()) {
      const namespace = run.namespaces.next(definition.name);
      const result: RunResult = {
        workload: spec.id,
        system: definition.name,
        mode,
        rep,
        position: index + 1,
        namespace,
      };
      const step = run.progress.start(spec.id, `${definition.name}/${mode}`, `rep ${rep}/${run.reps}`);
      const system = definition.create(run.environment, mode, namespace);
      try {
        await system.open();
        result.metrics = await spec.run({ system, mode, sizes: run.sizes, progress: step });
        step.done(
          spec.metrics
            .map(
              (metric) =>
                `${metric.label} ${formatNumber(result.metrics?.[metric.key] ?? NaN, metric.digits)}`,
            )
            .join(' · '),
        );
      } catch (error) {
        result.error = error instanceof Error ? error.message : String(error);
        step.done(`FAILED: ${result.error}`);
      } finally {
        await system
          .close()
          .catch((error: unknown) =>
            run.progress.note(`  clean-up of ${namespace} failed: ${String(error)}`),
          );
      }
      results.push(result);
    }
  }
  return results;
}

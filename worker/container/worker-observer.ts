/**
 * What a container worker reports as it works, for metrics and tracing: every claim, every run
 * that starts, every outcome that lands (or that fencing refuses), cancellations, and the tasks
 * its maintainer recovered from expired leases. Observers are called synchronously on the
 * worker's hot path: they record and return; one that throws is reported once and not again.
 * @module
 */
import type { SweptTask } from '../../src/core/execution/sweep.ts';
import type { ClaimedTask } from '../../src/core/execution/claim.ts';
import type { Landed } from '../../src/core/execution/write-back.ts';
import type { Logger } from './logger.ts';

export interface WorkerObserver {
  /** A claim returned these tasks (none when nothing was due). */
  claimed?(tasks: readonly ClaimedTask[]): void;
  /** A claimed task's run starts now. */
  started?(task: ClaimedTask): void;
  /**
   * A run ended (`duration` in seconds): its outcome goes to be written back, or, for a run found
   * cancelled ({@link WorkerObserver.cancelled} came first), is dropped.
   */
  ended?(task: ClaimedTask, outcome: { ok: boolean; duration: number }): void;
  /** Outcomes were written back; `status` null: fencing refused it (cancelled, or lease lost). */
  landed?(landed: readonly Landed[]): void;
  /** A task this worker held was found cancelled (`started`: its run had begun). */
  cancelled?(task: ClaimedTask, started: boolean): void;
  /** This worker's maintainer returned tasks whose lease expired to PENDING, or failed them. */
  swept?(tasks: readonly SweptTask[]): void;
}

type Hook = keyof WorkerObserver;
const HOOKS: readonly Hook[] = ['claimed', 'started', 'ended', 'landed', 'cancelled', 'swept'];

/**
 * One observer that calls each of `observers` in turn. A throwing observer is logged once
 * (`observer_failed`) and its error swallowed: a metrics bug must not stop a task.
 */
export function combineObservers(
  observers: readonly WorkerObserver[],
  logger: Logger,
): Required<WorkerObserver> {
  const reported = new Set<WorkerObserver>();
  const combined = {} as Record<Hook, (first: never, second: never) => void>;
  for (const hook of HOOKS) {
    const callers = observers.filter((observer) => observer[hook]);
    // Called per task: no observer costs nothing, and no call builds an argument array.
    combined[hook] =
      callers.length === 0
        ? () => undefined
        : (first, second) => {
            for (const observer of callers) {
              try {
                (observer[hook] as (first: never, second: never) => void).call(observer, first, second);
              } catch (error) {
                if (reported.has(observer)) continue;
                reported.add(observer);
                logger.log('warn', 'observer_failed', { hook, error: String(error) });
              }
            }
          };
  }
  return combined as unknown as Required<WorkerObserver>;
}

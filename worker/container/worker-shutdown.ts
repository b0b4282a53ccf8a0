/**
 * Graceful shutdown of the container worker, in order: stop claiming and put back what was
 * claimed but not started; let running tasks finish for the grace; stop the heartbeats, the
 * maintenance and the wake-ups; put back what still runs and abort it; write everything back;
 * let the last notifications go out; close the executor and the database.
 * @module
 */
import type { Maintainer } from '../maintenance/maintainer.ts';
import type { Completer } from './completer.ts';
import type { Executor } from './executor.ts';
import type { LeaseKeeper } from './lease-keeper.ts';
import type { Logger } from './logger.ts';
import type { Producer } from './producer.ts';
import type { PutBack } from './put-back.ts';
import type { RunningTasks } from './running-tasks.ts';
import type { TaskEventPublisher } from './task-event-publisher.ts';
import type { WorkerStats } from './worker-stats.ts';

/** What shutdown stops, in the order it stops them. */
export interface ShutdownParts {
  workerId: string;
  logger: Logger;
  stats: WorkerStats;
  producer: Producer;
  running: RunningTasks;
  leaseKeeper: LeaseKeeper;
  maintainer: Maintainer;
  /** Ends the wake-up subscriptions. */
  unsubscribe: () => Promise<void>;
  putBack: PutBack;
  completer: Completer;
  /** The background ANALYZE of start-up. */
  analyzed: Promise<unknown>;
  publisher: TaskEventPublisher;
  executor: Executor;
  /** Closes the database if the worker opened it. */
  closeDatabase: () => Promise<void>;
}

export interface Shutdown {
  /** Starts a graceful shutdown with `graceSeconds` for running tasks. Idempotent. */
  stop(graceSeconds: number): Promise<void>;
  /** Ends the grace at once (or shuts down with none). */
  kill(): Promise<void>;
  /** Resolves when the worker has stopped. */
  readonly stopped: Promise<void>;
}

/** Longest a stopping worker waits for its last notifications to go out. */
const PUBLISH_FLUSH_MS = 1000;

export function createShutdown(parts: ShutdownParts): Shutdown {
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  let cutGrace: (() => void) | undefined;

  async function shutdown(graceSeconds: number): Promise<void> {
    const { logger, producer, running, putBack } = parts;
    logger.log('info', 'worker_stopping', { running: running.size, grace: graceSeconds });
    await putBack(await producer.stop());
    const grace = running.settle(graceSeconds);
    cutGrace = grace.cut;
    await grace.settled;
    // The timers stop now; what they have in flight settles before the database closes.
    const periodicStopped = Promise.all([parts.leaseKeeper.stop(), parts.maintainer.stop()]);
    await parts.unsubscribe();
    const taken = running.takeBack();
    await putBack(taken);
    running.abortTakenBack(taken);
    await parts.completer.drain();
    await parts.analyzed;
    await periodicStopped;
    await parts.publisher.flush(PUBLISH_FLUSH_MS);
    await parts.executor.close();
    await parts.closeDatabase();
    logger.log('info', 'worker_stopped', { workerId: parts.workerId, ...parts.stats });
    resolveStopped();
  }

  return {
    stopped,
    stop(graceSeconds) {
      stopping ??= shutdown(graceSeconds);
      return stopping;
    },
    kill() {
      stopping ??= shutdown(0);
      cutGrace?.();
      return stopping;
    },
  };
}

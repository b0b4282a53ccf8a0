/**
 * The container worker's part in the maintainer (worker/maintenance/): a candidate in the
 * election under its worker id, waking the producer when tasks are due, reporting to its log
 * and observers, and telling the `unannounced_tasks` warning (unannounced-tasks.ts) when tasks
 * are due while the worker is idle.
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import { createMaintainer, type Maintainer } from '../maintenance/maintainer.ts';
import type { Logger } from './logger.ts';
import { maintenanceLog } from './maintenance-log.ts';
import type { TaskEventPublisher } from './task-event-publisher.ts';
import type { UnannouncedTasks } from './unannounced-tasks.ts';
import type { WorkerObserver } from './worker-observer.ts';
import type { ResolvedWorkerOptions } from './worker-options.ts';

/**
 * The worker's part in the maintainer: a candidate in the election under its worker id, waking
 * the producer when tasks are due, reporting to its log.
 */
export function createWorkerMaintainer(context: {
  db: Database;
  workerId: string;
  options: ResolvedWorkerOptions;
  logger: Logger;
  publisher: TaskEventPublisher;
  /** Whether notifications reach this worker now. */
  listen: { on: boolean };
  /** Whether every slot is free. */
  idle: () => boolean;
  /** Wakes the producer: tasks are due. */
  wake: () => void;
  /** The sweep returned tasks to `PENDING`, or schedules created tasks. */
  onRequeued: () => void;
  observer: Pick<Required<WorkerObserver>, 'swept'>;
  unannounced: UnannouncedTasks;
}): Maintainer {
  const { db, options, logger, publisher, listen } = context;
  const log = maintenanceLog(logger, publisher);
  return createMaintainer({
    db,
    schema: options.schema,
    holder: context.workerId,
    leaseSeconds: options.lease,
    backoff: options.backoff,
    retentionDays: options.retentionDays,
    intervalMs: options.sweepInterval,
    idleMs: options.idleInterval,
    listening: () => listen.on,
    queues: options.queues,
    now: options.now,
    onDue: (plan) => {
      if (listen.on && context.idle()) context.unannounced.dueWhileIdle(plan);
      context.wake();
    },
    ...log,
    onSwept(swept) {
      log.onSwept?.(swept);
      context.observer.swept(swept);
      if (swept.some((task) => task.status === 'PENDING')) context.onRequeued();
    },
    onFired(fired) {
      log.onFired?.(fired);
      context.onRequeued();
    },
  });
}

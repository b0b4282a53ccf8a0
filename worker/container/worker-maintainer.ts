/**
 * The container worker's part in the maintainer (worker/maintenance/): a candidate in the
 * election under its worker id, waking the producer when tasks are due, reporting to its log
 * and observers, and warning when tasks become due without a notification.
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import { createMaintainer, type Maintainer, type MaintenancePlan } from '../maintenance/maintainer.ts';
import type { Logger } from './logger.ts';
import { maintenanceLog } from './maintenance-log.ts';
import type { TaskEventPublisher } from './task-event-publisher.ts';
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
}): Maintainer {
  const { db, options, logger, publisher, listen } = context;
  const log = maintenanceLog(logger, publisher);
  const unannounced = unannouncedTaskWarning(logger);
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
      if (listen.on && context.idle()) unannounced(plan);
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

/**
 * A warning, at most every 10 minutes, when an idle worker that listens for notifications
 * finds a task that has been due for seconds: something creates tasks without notifying (a
 * client with no notifier, a failed publish), and they wait up to `idleInterval`.
 */
function unannouncedTaskWarning(logger: Logger): (plan: MaintenancePlan) => void {
  let lastWarned = -Infinity;
  return (plan) => {
    const waitedMs = plan.now - (plan.nextDue ?? plan.now);
    if (waitedMs < 5000 || plan.now - lastWarned < 600_000) return;
    lastWarned = plan.now;
    logger.log('warn', 'unannounced_tasks', {
      waitedSeconds: Math.round(waitedMs / 1000),
      note: 'a task was due without a notification: give its client the same notifier, or lower --idle-interval',
    });
  };
}

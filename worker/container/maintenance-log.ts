/**
 * What the container worker does with its maintainer's reports: an event and a log line per
 * swept task, a line when retention deleted tasks or leadership changed, and a warning when a
 * job failed.
 * @module
 */
import { firedTaskEvents, sweptTaskEvents, type MaintainerOptions } from '../maintenance/maintainer.ts';
import type { Logger } from './logger.ts';
import type { TaskEventPublisher } from './task-event-publisher.ts';

/** The maintainer's `onSwept`, `onDeleted` and `onError` for this worker. */
export function maintenanceLog(
  logger: Logger,
  publisher: TaskEventPublisher,
): Pick<MaintainerOptions, 'onSwept' | 'onDeleted' | 'onError' | 'onLeadership' | 'onFired'> {
  return {
    onFired(fired) {
      publisher.publish(firedTaskEvents(fired));
      for (const task of fired) {
        logger.log('info', 'schedule_fired', {
          schedule: task.schedule,
          fireAt: task.fireAt.toISOString(),
          taskId: task.id,
          name: task.name,
        });
      }
    },
    onLeadership(leading, holder) {
      logger.log(leading ? 'info' : 'debug', leading ? 'maintainer_elected' : 'maintainer_follower', {
        leader: holder,
      });
    },
    onSwept(swept) {
      publisher.publish(sweptTaskEvents(swept));
      for (const task of swept) {
        logger.log('warn', task.status === 'FAILED' ? 'task_failed' : 'task_retry_scheduled', {
          taskId: task.id,
          name: task.name,
          attempt: task.attempt,
          error: 'Lease expired',
          errorType: 'LeaseExpiredError',
        });
      }
    },
    onDeleted(count, olderThanDays) {
      if (count > 0) logger.log('info', 'tasks_deleted', { count, olderThanDays });
    },
    onError(error, job) {
      logger.log('warn', `${job === 'plan' ? 'maintenance_plan' : job}_failed`, { error: String(error) });
    },
  };
}

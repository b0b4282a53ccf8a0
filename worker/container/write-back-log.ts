/**
 * One log line and one counter per write-back that landed, or that fencing refused.
 * @module
 */
import { logsAt, taskLogFields } from '../../src/core/logger.ts';
import { UNKNOWN_TASK_ERROR } from '../../src/core/task-error.ts';
import type { Landed } from './completer.ts';
import type { Logger } from './logger.ts';
import type { WorkerStats } from './worker-stats.ts';

export interface WriteBackLogContext {
  logger: Logger;
  stats: WorkerStats;
  /** The task names the tasks module registers, listed when a task's name is not one of them. */
  registered: () => readonly string[];
}

/** Logs and counts one landed (or refused) write-back. */
export function logWriteBack(
  { item, status, runAt }: Landed,
  { logger, stats, registered }: WriteBackLogContext,
): void {
  if (status === 'COMPLETED') {
    stats.completed++;
    // One line per task: not even built when `info` is not written.
    if (logsAt(logger, 'info')) logger.log('info', 'task_completed', runFields(item));
    return;
  }
  const base = runFields(item);
  if (status === null) {
    stats.lost++;
    logger.log('warn', 'task_result_rejected', {
      ...base,
      reason:
        'the task is no longer owned by this attempt (cancelled, or its lease expired and it was recovered)',
    });
  } else if (item.kind === 'fail') {
    const fields = { ...base, error: item.error.message, errorType: item.error.type };
    if (status === 'PENDING') {
      stats.retried++;
      logger.log('warn', 'task_retry_scheduled', { ...fields, runAt: runAt?.toISOString() });
    } else {
      stats.failed++;
      // The registered names are for the operator: the stored error does not list them.
      const names = item.error.type === UNKNOWN_TASK_ERROR ? { registered: registered() } : {};
      logger.log('error', 'task_failed', { ...fields, ...names, stack: item.error.stack });
    }
  }
}

function runFields(item: Landed['item']) {
  return { ...taskLogFields(item), duration: round(item.duration) };
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/**
 * Wake-ups: the worker subscribes to one channel per served queue, or to the any-queue
 * channel, and claims on each message instead of at its next poll. Coming back after a
 * notifier outage also wakes it (tasks created meanwhile sent no message). Without a notifier,
 * or when a subscription fails, polling alone finds the tasks.
 *
 * The same channels carry `task_cancelled` (one message per cancelled task, see
 * task-events.ts): it goes to `onCancelled`, not to `wake`.
 * @module
 */
import { anyQueueChannel, parseTaskEvent, queueChannel } from '../../src/core/events/task-events.ts';
import type { Notifier, Unsubscribe } from '../../src/core/notifier.ts';
import type { Logger } from './logger.ts';

export interface WakeUpOptions {
  notifier: Notifier | undefined;
  schema: string;
  /** Served queues (default: all). */
  queues: readonly string[] | undefined;
  logger: Logger;
  wake: () => void;
  /** A `task_cancelled` event for the task `taskId` (which this worker may be running). */
  onCancelled?: (taskId: string) => void;
  /** Every subscription connected, or one of them went down (polling covers the gap). */
  onListening?: (listening: boolean) => void;
}

/** Subscribes; resolves with one function that ends every subscription (never rejects). */
export async function subscribeWakeUps(options: WakeUpOptions): Promise<() => Promise<void>> {
  const { notifier, schema, queues, logger, wake, onCancelled } = options;
  const unsubscribes: Unsubscribe[] = [];
  const onMessage = (message: string) => {
    // Wake-ups need no parsing; only a cancellation names the task to stop.
    const event = message.includes('"task_cancelled"') ? parseTaskEvent(message) : null;
    if (event?.event === 'task_cancelled') onCancelled?.(event.taskId);
    else wake();
  };
  // A notifier that never delivers (`none`) is no notifier: the worker keeps polling.
  if (notifier && notifier.delivers !== false) {
    const channels = queues ? queues.map((queue) => queueChannel(schema, queue)) : [anyQueueChannel(schema)];
    const down = new Set<string>(channels);
    const reported = new Set<string>();
    const report = () => options.onListening?.(down.size === 0);
    for (const channel of channels) {
      const unsubscribe = await notifier
        .subscribe(channel, onMessage, {
          onStatus: (status) => {
            logger.log(status === 'connected' ? 'info' : 'warn', `notifier_${status}`, { channel });
            reported.add(channel);
            if (status === 'connected') down.delete(channel);
            else down.add(channel);
            report();
            // Back (tasks created meanwhile sent no message) or down (polling starts): claim now.
            wake();
          },
        })
        .catch((error: unknown) => {
          logger.log('warn', 'notifier_subscribe_failed', {
            channel,
            error: String(error),
            note: 'polling only',
          });
          return undefined;
        });
      if (unsubscribe) {
        unsubscribes.push(unsubscribe);
        if (!reported.has(channel)) down.delete(channel);
      }
    }
    report();
  }
  return async () => {
    await Promise.all(unsubscribes.map((unsubscribe) => unsubscribe().catch(() => undefined)));
  };
}

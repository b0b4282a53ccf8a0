/**
 * Publishes the worker's task events after their changes committed, never awaited on the hot
 * path: a failed publish is only a lost hint (logged as `notify_failed`). Shutdown waits a
 * little for the publishes still in flight, so the wake-up for tasks it put back reaches other
 * workers before the notifier closes.
 * @module
 */
import { publishTaskEvents, type TaskEvent } from '../../src/core/events/task-events.ts';
import type { Notifier } from '../../src/core/notifier.ts';
import type { Logger } from './logger.ts';

export interface TaskEventPublisherOptions {
  /** None: publishing does nothing (polling only). */
  notifier: Notifier | undefined;
  schema: string;
  logger: Logger;
}

export class TaskEventPublisher {
  private readonly sending = new Set<Promise<unknown>>();
  private readonly options: TaskEventPublisherOptions;

  constructor(options: TaskEventPublisherOptions) {
    this.options = options;
  }

  /** There is a notifier: callers skip building events when there is not. */
  get enabled(): boolean {
    return this.options.notifier !== undefined;
  }

  publish(events: TaskEvent[]): void {
    const { notifier, schema, logger } = this.options;
    if (!notifier || events.length === 0) return;
    const sent = publishTaskEvents(notifier, schema, events, {
      onError: (error, { channel }) => logger.log('warn', 'notify_failed', { channel, error: String(error) }),
    });
    this.sending.add(sent);
    void sent.finally(() => this.sending.delete(sent));
  }

  /** Resolves once the publishes in flight settled, or after `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    await Promise.race([
      Promise.allSettled([...this.sending]),
      new Promise((resolve) => setTimeout(resolve, timeoutMs).unref()),
    ]);
  }
}

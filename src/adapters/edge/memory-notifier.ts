/**
 * An in-process notifier: for tests and for the embedded dev stack, where the client and the
 * worker share one process. Nothing leaves the process.
 * @module
 */
import type { Notifier, Unsubscribe } from '../../core/notifier.ts';
import { assertChannel } from '../../core/events/channel-name.ts';
import {
  closedError,
  reportNotifierError,
  warnNotifierError,
  type NotifierErrorHandler,
} from '../../core/notifier-error.ts';

/** How to create a {@link createMemoryNotifier | memory notifier}. */
export interface MemoryNotifierOptions {
  /** Receives exceptions thrown by `onMessage` callbacks (default: `console.warn`). */
  onError?: NotifierErrorHandler;
}

/**
 * A {@link Notifier} that delivers within the process. Delivery is asynchronous (one
 * microtask after `publish`), as on every real transport, so code that works here does not
 * rely on a handler running before `publish` returns. `onStatus` is never called: the
 * in-process "connection" cannot drop.
 */
export function createMemoryNotifier(options: MemoryNotifierOptions = {}): Notifier {
  const onError = options.onError ?? warnNotifierError;
  const channels = new Map<string, Set<{ onMessage: (message: string) => void }>>();
  let closed = false;

  return {
    async publish(channel, message) {
      assertChannel(channel);
      if (closed) throw closedError(channel);
      const text = String(message);
      for (const subscriber of channels.get(channel) ?? []) {
        queueMicrotask(() => {
          // Unsubscribed between publish and delivery: a stopped subscription gets nothing.
          if (!channels.get(channel)?.has(subscriber)) return;
          try {
            subscriber.onMessage(text);
          } catch (error) {
            reportNotifierError(onError, error);
          }
        });
      }
    },
    async subscribe(channel, onMessage): Promise<Unsubscribe> {
      assertChannel(channel);
      if (closed) throw closedError(channel);
      const subscriber = { onMessage };
      let subscribers = channels.get(channel);
      if (!subscribers) {
        subscribers = new Set();
        channels.set(channel, subscribers);
      }
      subscribers.add(subscriber);
      return async () => {
        const current = channels.get(channel);
        if (!current?.delete(subscriber)) return;
        if (current.size === 0) channels.delete(channel);
      };
    },
    async close() {
      closed = true;
      channels.clear();
    },
  };
}

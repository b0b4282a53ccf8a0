/**
 * The notifier for deployments without Redis: nothing is ever delivered, and everything
 * that waits for a notification falls back to polling the database.
 * @module
 */
import type { Notifier } from '../../core/notifier.ts';

/**
 * A {@link Notifier} that delivers nothing. `publish` resolves at once without sending;
 * `subscribe` resolves at once with an unsubscribe that does nothing, and never calls
 * `onMessage` or `onStatus`. It stays this inert after `close()`. Waiters built on it find
 * out about changes only through their poll interval.
 */
export function createNoneNotifier(): Notifier {
  const nothing = async () => undefined;
  return {
    delivers: false,
    publish: nothing,
    subscribe: async () => nothing,
    close: nothing,
  };
}

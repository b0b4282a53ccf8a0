/**
 * The notifier port: the doorbell. Publish/subscribe of short string messages on named
 * channels. Implementations: Upstash REST, Redis over TCP, Postgres LISTEN/NOTIFY,
 * in-memory and none. A notification is only ever a hint: correctness never depends on one
 * arriving (messages published while nobody listens are gone), so every consumer also polls.
 * Every implementation must pass `test/notifier-conformance.test.ts`.
 * @module
 */

/** Connection state changes a subscriber can observe (to re-read state after a gap). */
export type NotifierStatus = 'connected' | 'disconnected';

export interface SubscribeOptions {
  /**
   * Called when the subscription's connection goes down or comes back. After `connected`
   * following a `disconnected`, messages may have been missed: re-read the database.
   */
  onStatus?: (status: NotifierStatus) => void;
}

/** Stops a subscription. Idempotent. */
export type Unsubscribe = () => Promise<void>;

export interface Notifier {
  /**
   * `false` for a notifier that never delivers anything (`createNoneNotifier`): a worker given
   * one polls as it does without a notifier, instead of waiting for messages that never come
   * (default: delivers).
   */
  readonly delivers?: boolean;
  /** Publishes `message` on `channel`. Rejects when the transport fails; callers log and go on. */
  publish(channel: string, message: string): Promise<void>;
  /**
   * Calls `onMessage` for every message on `channel` until unsubscribed. Resolves once the
   * subscription is active (so a publish after it is delivered), or once the first attempt
   * failed (it keeps reconnecting in the background, reporting through `onStatus`).
   */
  subscribe(
    channel: string,
    onMessage: (message: string) => void,
    options?: SubscribeOptions,
  ): Promise<Unsubscribe>;
  /** Closes connections the notifier owns. */
  close(): Promise<void>;
  /**
   * Only on notifiers whose `publish` is a Postgres NOTIFY (the LISTEN/NOTIFY notifier): the
   * Postgres channel that `publish(channel)` notifies. Throws what `publish` would reject with
   * for a bad channel. A client with such a notifier sends the wake-ups of the tasks it creates
   * with `pg_notify` inside its insert statement: Postgres delivers them with the commit, a
   * round trip sooner, and none can be lost between the commit and a publish. Workers LISTEN on
   * the database that holds the tasks, which is the one the insert runs on.
   */
  postgresChannel?(channel: string): string;
}

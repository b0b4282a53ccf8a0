/**
 * The notifier subscriptions behind the dashboard's live streams, shared by every stream of
 * one app: one subscription per channel however many pages watch it (on Upstash each
 * subscription is an HTTP stream of its own), kept for a while after the last stream left so
 * that moving between pages does not subscribe again, and the connection state each one last
 * reported. A stream is only offered while its channel is connected: when the notifier goes
 * down, the streams on it are told so and end, and pages poll until it is back.
 * @module
 */
import { parseTaskEvent } from '../../core/events/task-events.ts';
import type { Notifier, Unsubscribe } from '../../core/notifier.ts';
import { clearTimer, unrefTimer } from './unref-timer.ts';

/** What a stream hears from a channel. */
export interface ChannelListener {
  /** A task event arrived on the channel. */
  event(): void;
  /** The subscription lost its connection: events may be missed from now on. */
  down(): void;
}

/** Timings of {@link LiveChannels}. */
export interface LiveChannelsOptions {
  /** Keep a subscription this long after its last listener left (ms). */
  lingerMs: number;
  /** Longest wait for a new subscription to be confirmed before a stream is refused (ms). */
  readyTimeoutMs: number;
  /** Receives a subscribe that failed outright (a closed notifier, say). */
  onError: (error: unknown) => void;
}

interface Entry {
  state: 'subscribing' | 'up' | 'down';
  listeners: Set<ChannelListener>;
  subscribed: Promise<Unsubscribe | null>;
  linger?: ReturnType<typeof setTimeout> | undefined;
}

/** Shared, ref-counted subscriptions of one notifier. */
export class LiveChannels {
  readonly #notifier: Notifier;
  readonly #options: LiveChannelsOptions;
  readonly #entries = new Map<string, Entry>();

  constructor(notifier: Notifier, options: LiveChannelsOptions) {
    this.#notifier = notifier;
    this.#options = options;
  }

  /**
   * Adds `listener` to `channel`. Resolves with the function that removes it once the channel
   * is connected; with `null` (and nothing added) when the channel is down or not confirmed
   * within `readyTimeoutMs`, so the caller refuses the stream and the page polls.
   */
  async join(channel: string, listener: ChannelListener): Promise<(() => void) | null> {
    const entry = this.#entry(channel);
    clearTimer(entry.linger);
    entry.linger = undefined;
    entry.listeners.add(listener);
    if (entry.state === 'subscribing') {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = unrefTimer(setTimeout(resolve, this.#options.readyTimeoutMs));
      });
      await Promise.race([entry.subscribed, timeout]);
      clearTimer(timer);
    }
    const leave = () => this.#leave(channel, entry, listener);
    if (entry.state !== 'up' || !entry.listeners.has(listener)) {
      leave();
      return null;
    }
    return leave;
  }

  #entry(channel: string): Entry {
    const existing = this.#entries.get(channel);
    if (existing) return existing;
    const entry: Entry = { state: 'subscribing', listeners: new Set(), subscribed: Promise.resolve(null) };
    this.#entries.set(channel, entry);
    entry.subscribed = this.#subscribe(channel, entry);
    return entry;
  }

  async #subscribe(channel: string, entry: Entry): Promise<Unsubscribe | null> {
    const onMessage = (message: string) => {
      // Probes and foreign messages are not events; only events can change a page.
      if (entry.state !== 'up' || parseTaskEvent(message) === null) return;
      for (const listener of [...entry.listeners]) listener.event();
    };
    const onStatus = (status: string) => {
      if (status === 'connected') {
        entry.state = 'up';
        return;
      }
      entry.state = 'down';
      for (const listener of [...entry.listeners]) listener.down();
    };
    try {
      const unsubscribe = await this.#notifier.subscribe(channel, onMessage, { onStatus });
      // subscribe() resolves after reporting `disconnected` when its first attempt failed.
      if (entry.state === 'subscribing') entry.state = 'up';
      return unsubscribe;
    } catch (error) {
      this.#options.onError(error);
      entry.state = 'down';
      if (this.#entries.get(channel) === entry) this.#entries.delete(channel);
      for (const listener of [...entry.listeners]) listener.down();
      return null;
    }
  }

  #leave(channel: string, entry: Entry, listener: ChannelListener): void {
    if (!entry.listeners.delete(listener) || entry.listeners.size > 0) return;
    clearTimer(entry.linger);
    entry.linger = unrefTimer(
      setTimeout(() => {
        if (entry.listeners.size > 0 || this.#entries.get(channel) !== entry) return;
        this.#entries.delete(channel);
        void entry.subscribed.then((unsubscribe) => unsubscribe?.()).catch(this.#options.onError);
      }, this.#options.lingerMs),
    );
  }
}

/**
 * Channels and patterns of the in-memory backend. Delivery is synchronous, as in Redis:
 * PUBLISH returns after every subscriber's stream has the message.
 * @module
 */
import { globToRegExp } from './glob-pattern.ts';

type Deliver = (channel: string, message: string) => void;

/** Subscribers by channel and by pattern. */
export class MemoryPubSub {
  readonly #channels = new Map<string, Set<Deliver>>();
  readonly #patterns = new Map<string, { regexp: RegExp; subscribers: Set<Deliver> }>();

  /** Adds a subscriber; returns its removal (idempotent). */
  subscribe(kind: 'channel' | 'pattern', name: string, deliver: Deliver): () => void {
    let subscribers: Set<Deliver>;
    if (kind === 'channel') {
      subscribers = this.#channels.get(name) ?? new Set();
      this.#channels.set(name, subscribers);
    } else {
      const entry = this.#patterns.get(name) ?? { regexp: globToRegExp(name), subscribers: new Set() };
      this.#patterns.set(name, entry);
      subscribers = entry.subscribers;
    }
    // Each stream is its own subscriber, even when one function is passed twice.
    const own: Deliver = (channel, message) => deliver(channel, message);
    subscribers.add(own);
    return () => {
      subscribers.delete(own);
      if (subscribers.size > 0) return;
      if (kind === 'channel' && this.#channels.get(name) === subscribers) this.#channels.delete(name);
      if (kind === 'pattern' && this.#patterns.get(name)?.subscribers === subscribers)
        this.#patterns.delete(name);
    };
  }

  /** Delivers to every subscriber; returns how many got it (PUBLISH's reply). */
  publish(channel: string, message: string): number {
    const targets = [...(this.#channels.get(channel) ?? [])];
    for (const { regexp, subscribers } of this.#patterns.values()) {
      if (regexp.test(channel)) targets.push(...subscribers);
    }
    for (const deliver of targets) deliver(channel, message);
    return targets.length;
  }

  /** Subscribers of `channel` (PUBSUB NUMSUB). */
  count(channel: string): number {
    return this.#channels.get(channel)?.size ?? 0;
  }

  /** Channels with at least one subscriber, optionally matching a glob (PUBSUB CHANNELS). */
  channels(pattern?: string): string[] {
    const regexp = pattern === undefined ? undefined : globToRegExp(pattern);
    return [...this.#channels.keys()].filter((channel) => !regexp || regexp.test(channel));
  }

  /** Distinct patterns subscribed to (PUBSUB NUMPAT). */
  patternCount(): number {
    return this.#patterns.size;
  }

  clear(): void {
    this.#channels.clear();
    this.#patterns.clear();
  }
}

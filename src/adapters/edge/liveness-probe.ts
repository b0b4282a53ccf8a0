/**
 * Probe messages: what a subscription publishes on its own channel to prove that its stream
 * still delivers. Every notifier that can share a channel with an Upstash subscriber drops
 * them, so `onMessage` never sees one; other readers find a non-JSON line and ignore it.
 * @module
 */

const PROBE_PREFIX = '@@edge-task-worker/probe:';

/** A fresh, unique probe message. */
export function newProbeMessage(): string {
  return PROBE_PREFIX + crypto.randomUUID();
}

/** True for a message published by {@link newProbeMessage}. */
export function isProbeMessage(message: string): boolean {
  return message.startsWith(PROBE_PREFIX);
}

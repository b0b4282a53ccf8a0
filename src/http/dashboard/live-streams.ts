/**
 * Opens the event streams of live pages, at most `maxStreams` at once: subscribes to the
 * page's channel (shared, live-channels.ts), reads the first snapshot after that, and hands
 * both to a {@link LiveStream}. Refusals are answered, not thrown (a page that polls instead is
 * no error worth a log line): 204 without a notifier, 503 with `Retry-After` when full or while
 * the notifier is down.
 * @module
 */
import type { Context } from 'hono';
import { errorJson, HttpError } from '../error-response.ts';
import type { ChannelListener, LiveChannels } from './live-channels.ts';
import { LiveStream, type LiveStreamSettings } from './live-stream.ts';
import type { LiveSnapshot } from './live-views.ts';
import type { SharedReads } from './shared-reads.ts';

/** A page's live parts: how to read them, and which channel announces their changes. */
export interface LiveView {
  /** Pages with the same key show the same thing and share reads. */
  key: string;
  channel: string;
  load(): Promise<LiveSnapshot>;
}

/** Headers of every live answer: never cached, never sniffed. */
export const NO_STORE = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' } as const;
const RETRY_LATER = { 'Retry-After': '30' } as const;

/** The API's error body (`{ error: { code, message } }`), answered directly. */
export function refuse(
  c: Context,
  status: 400 | 404 | 503,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return errorJson(c, new HttpError(status, code, message, { headers: { ...NO_STORE, ...headers } }));
}

/**
 * A channel listener for a stream that does not exist yet (it needs its first read, which
 * must start after subscribing): news that arrives meanwhile is handed over on `attach`.
 */
function channelRelay(): ChannelListener & { attach(stream: LiveStream): void } {
  let target: LiveStream | undefined;
  let missed = false;
  let wentDown = false;
  return {
    event: () => (target ? target.changed() : (missed = true)),
    down: () => (target ? target.down() : (wentDown = true)),
    attach(stream) {
      target = stream;
      if (wentDown) stream.down();
      else if (missed) stream.changed();
    },
  };
}

/** What {@link LiveStreams} needs. */
export interface LiveStreamsConfig {
  /** The notifier's shared subscriptions, or `null` without a notifier. */
  channels: LiveChannels | null;
  maxStreams: number;
  settings: LiveStreamSettings;
  reads: SharedReads<LiveSnapshot>;
  /** Receives a failed read of an open stream. */
  onError: (error: unknown, request: Request) => void;
}

/** The app's open streams. */
export class LiveStreams {
  readonly #config: LiveStreamsConfig;
  #open = 0;

  constructor(config: LiveStreamsConfig) {
    this.#config = config;
  }

  /** Answers `c` with the stream of `view`, or with a refusal. */
  async open(c: Context, view: LiveView): Promise<Response> {
    const { channels, reads } = this.#config;
    if (!channels) return c.body(null, 204, NO_STORE);
    if (this.#open >= this.#config.maxStreams) {
      const message = 'Too many live pages are open; this one polls instead.';
      return refuse(c, 503, 'TOO_MANY_STREAMS', message, RETRY_LATER);
    }
    this.#open++;
    const relay = channelRelay();
    const leave = await channels.join(view.channel, relay);
    if (!leave) {
      this.#open--;
      const message = 'Live updates are unavailable; this page polls instead.';
      return refuse(c, 503, 'NOTIFIER_DOWN', message, RETRY_LATER);
    }
    const release = () => {
      leave();
      this.#open--;
    };
    let first: LiveSnapshot;
    try {
      // Started after subscribing: a change is either in this read or announced to the stream.
      first = await reads.read(view.key, Date.now(), view.load);
    } catch (error) {
      release();
      throw error;
    }
    const source = {
      load: (since: number) => reads.read(view.key, since, view.load),
      onError: (error: unknown) => this.#config.onError(error, c.req.raw),
      onClose: release,
    };
    const live = new LiveStream(first, source, this.#config.settings);
    relay.attach(live);
    return c.body(live.body, 200, {
      ...NO_STORE,
      'Content-Type': 'text/event-stream; charset=utf-8',
      // Proxies such as nginx would otherwise hold events back to fill a buffer.
      'X-Accel-Buffering': 'no',
    });
  }
}

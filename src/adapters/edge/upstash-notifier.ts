/**
 * The notifier over Upstash Redis REST (`@upstash/redis`): one HTTP request per publish, one
 * server-sent-events stream per subscription. Edge-safe: it only needs `fetch`.
 *
 * The SDK neither reconnects a dropped stream nor tells anyone that it ended, so each
 * subscription checks itself: after `heartbeatMs` without any traffic it publishes a probe
 * on its own channel and expects it back within `probeTimeoutMs`. A probe that does not
 * come back (or a PUBLISH that reaches no subscriber at all) means the stream is gone,
 * whether the server closed it or a proxy left it half-open; the subscription then
 * reconnects with exponential back-off and jitter, reporting through `onStatus`.
 * @module
 */
import { Redis } from '@upstash/redis';
import type { Notifier, SubscribeOptions, Unsubscribe } from '../../core/notifier.ts';
import { backoffDelay, type RetryOptions } from './backoff.ts';
import { assertChannel } from '../../core/events/channel-name.ts';
import { isProbeMessage, newProbeMessage } from './liveness-probe.ts';
import {
  closedError,
  NotifierError,
  reportNotifierError,
  warnNotifierError,
  type NotifierErrorHandler,
} from '../../core/notifier-error.ts';
import { createStatusReporter, type StatusReporter } from './status-reporter.ts';
import { withTimeout } from './timeout.ts';

/** Where the Upstash database is: REST URL and token, or a client you built. */
export type UpstashConnection =
  | {
      /** `UPSTASH_REDIS_REST_URL`, e.g. `https://eu1-xxx.upstash.io`. */
      url: string;
      /** `UPSTASH_REDIS_REST_TOKEN`. */
      token: string;
    }
  | {
      /**
       * A client to use as is. Build it with `automaticDeserialization: false`: otherwise the
       * SDK parses JSON messages and they arrive here re-serialized (same data, but not
       * byte for byte), and with `enableTelemetry: false` to send no telemetry headers.
       */
      redis: Redis;
    };

/** How to create an {@link createUpstashNotifier | Upstash notifier}. */
export type UpstashNotifierOptions = UpstashConnection & {
  /**
   * Probe a subscription that has been quiet this long, in milliseconds; 0 turns probing
   * off (then a dropped stream is never noticed). Each probe is one PUBLISH, billed as a
   * command (default: 30000).
   */
  heartbeatMs?: number;
  /** How long a probe may take to come back before the stream counts as lost (default: 5000). */
  probeTimeoutMs?: number;
  /** How long `subscribe` waits for the server to confirm a stream (default: 10000). */
  subscribeTimeoutMs?: number;
  /** How long `publish` waits for Upstash before rejecting (default: 5000). */
  publishTimeoutMs?: number;
  /** Back-off between reconnection attempts (default: 100 ms doubling up to 5000 ms). */
  retry?: RetryOptions;
  /** Receives lost streams, failed probes and exceptions from `onMessage` (default: `console.warn`). */
  onError?: NotifierErrorHandler;
};

interface Settings {
  heartbeatMs: number;
  probeTimeoutMs: number;
  subscribeTimeoutMs: number;
  retry: RetryOptions | undefined;
  onError: NotifierErrorHandler;
}

/**
 * The `@upstash/redis` client of a connection: the one given, or one built from URL and token
 * with raw replies (no JSON parsing), no telemetry, and `retries` quick retries (100 ms doubling).
 */
export function upstashRedis(connection: UpstashConnection, retries: number): Redis {
  if ('redis' in connection) return connection.redis;
  return new Redis({
    url: connection.url,
    token: connection.token,
    enableTelemetry: false,
    automaticDeserialization: false,
    retry: { retries, backoff: (attempt) => 100 * 2 ** attempt },
  });
}

/**
 * A {@link Notifier} over Upstash Redis REST. Messages must be single lines (an event
 * stream is line-framed; JSON from `JSON.stringify` always is one).
 */
export function createUpstashNotifier(options: UpstashNotifierOptions): Notifier {
  // A notification is a hint: two quick retries cover a blip; more would only delay the caller
  // that is waiting for publish to return.
  const redis = upstashRedis(options, 2);
  const settings: Settings = {
    heartbeatMs: options.heartbeatMs ?? 30_000,
    probeTimeoutMs: options.probeTimeoutMs ?? 5_000,
    subscribeTimeoutMs: options.subscribeTimeoutMs ?? 10_000,
    retry: options.retry,
    onError: options.onError ?? warnNotifierError,
  };
  const publishTimeoutMs = options.publishTimeoutMs ?? 5_000;
  const subscriptions = new Set<StreamSubscription>();
  let closed = false;

  return {
    async publish(channel, message) {
      assertChannel(channel);
      if (closed) throw closedError(channel);
      if (/[\r\n]/.test(message)) {
        throw new NotifierError(
          'INVALID_MESSAGE',
          `A message on ${channel} contains a line break, which would cut it in two on Upstash's ` +
            'event stream: publish single-line text such as JSON.stringify output.',
          { channel },
        );
      }
      try {
        await withTimeout(redis.publish(channel, message), publishTimeoutMs, 'Upstash PUBLISH');
      } catch (error) {
        throw new NotifierError(
          'PUBLISH_FAILED',
          `Could not publish on ${channel} through Upstash: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error, channel },
        );
      }
    },
    async subscribe(channel, onMessage, subscribeOptions?: SubscribeOptions): Promise<Unsubscribe> {
      assertChannel(channel);
      if (closed) throw closedError(channel);
      const reporter = createStatusReporter(subscribeOptions?.onStatus, settings.onError);
      const subscription = new StreamSubscription(redis, channel, onMessage, reporter, settings);
      subscriptions.add(subscription);
      await subscription.start();
      return async () => {
        subscriptions.delete(subscription);
        subscription.stop();
      };
    },
    async close() {
      closed = true;
      for (const subscription of subscriptions) subscription.stop();
      subscriptions.clear();
    },
  };
}

type SdkSubscriber = ReturnType<Redis['subscribe']>;

/** One channel's event stream, reopened whenever it is found dead. */
class StreamSubscription {
  readonly #redis: Redis;
  readonly #channel: string;
  readonly #onMessage: (message: string) => void;
  readonly #reporter: StatusReporter;
  readonly #settings: Settings;
  #subscriber: SdkSubscriber | undefined;
  /** Bumped on every (re)connect and stop, so events of an abandoned stream are ignored. */
  #generation = 0;
  #failures = 0;
  #lastTraffic = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #settleStart: ((ok: boolean) => void) | undefined;
  readonly #probes = new Map<string, () => void>();
  #stopped = false;

  constructor(
    redis: Redis,
    channel: string,
    onMessage: (message: string) => void,
    reporter: StatusReporter,
    settings: Settings,
  ) {
    this.#redis = redis;
    this.#channel = channel;
    this.#onMessage = onMessage;
    this.#reporter = reporter;
    this.#settings = settings;
  }

  /** Resolves once the stream is confirmed, or once the first attempt failed. */
  async start(): Promise<void> {
    await this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    this.#abandon();
  }

  #connect(): Promise<boolean> {
    this.#abandon();
    const generation = this.#generation;
    const subscriber = this.#redis.subscribe<unknown>(this.#channel);
    this.#subscriber = subscriber;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(
        () =>
          this.#fail(generation, new Error(`no confirmation within ${this.#settings.subscribeTimeoutMs} ms`)),
        this.#settings.subscribeTimeoutMs,
      );
      this.#settleStart = (ok) => {
        if (timer !== undefined) clearTimeout(timer);
        this.#settleStart = undefined;
        resolve(ok);
      };
      subscriber.on('subscribe', () => {
        if (generation !== this.#generation) return;
        this.#lastTraffic = Date.now();
        this.#failures = 0;
        this.#reporter.up();
        this.#scheduleHeartbeat(generation, this.#settings.heartbeatMs);
        this.#settleStart?.(true);
      });
      subscriber.on('message', ({ message }) => {
        if (generation !== this.#generation) return;
        this.#lastTraffic = Date.now();
        this.#receive(typeof message === 'string' ? message : JSON.stringify(message));
      });
      subscriber.on('error', (error) => this.#fail(generation, error));
    });
  }

  #receive(message: string): void {
    if (isProbeMessage(message)) {
      this.#probes.get(message)?.();
      return;
    }
    try {
      // A handler that throws inside the SDK's stream reader would end the stream for good.
      this.#onMessage(message);
    } catch (error) {
      reportNotifierError(this.#settings.onError, error);
    }
  }

  /** Drops the current stream (if any) and invalidates its pending events and timers. */
  #abandon(): void {
    this.#generation++;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#probes.clear();
    this.#settleStart?.(false);
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    // Aborts the request: the server sees the stream close and unsubscribes.
    if (subscriber) void subscriber.unsubscribe().catch(() => undefined);
  }

  #fail(generation: number, error: unknown): void {
    if (generation !== this.#generation || this.#stopped) return;
    this.#abandon();
    this.#reporter.down();
    reportNotifierError(
      this.#settings.onError,
      new Error(
        `Upstash subscription to ${this.#channel} lost (${error instanceof Error ? error.message : String(error)}); reconnecting`,
        { cause: error },
      ),
    );
    const retryGeneration = this.#generation;
    this.#timer = setTimeout(
      () => {
        if (retryGeneration === this.#generation && !this.#stopped) void this.#connect();
      },
      backoffDelay(this.#failures++, this.#settings.retry),
    );
  }

  #scheduleHeartbeat(generation: number, delay: number): void {
    if (this.#settings.heartbeatMs <= 0) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#beat(generation), delay);
  }

  async #beat(generation: number): Promise<void> {
    if (generation !== this.#generation) return;
    const quiet = Date.now() - this.#lastTraffic;
    if (quiet < this.#settings.heartbeatMs) {
      this.#scheduleHeartbeat(generation, this.#settings.heartbeatMs - quiet);
      return;
    }
    const probe = newProbeMessage();
    const echoed = new Promise<void>((resolve) => this.#probes.set(probe, resolve));
    try {
      const receivers = await withTimeout(
        this.#redis.publish(this.#channel, probe),
        this.#settings.probeTimeoutMs,
        'probe PUBLISH',
      );
      // PUBLISH counts the streams that got the probe: none means ours is certainly gone.
      if (Number(receivers) === 0) throw new Error('the probe reached no subscriber');
      await withTimeout(echoed, this.#settings.probeTimeoutMs, 'probe echo');
    } catch (error) {
      this.#fail(generation, error);
      return;
    } finally {
      this.#probes.delete(probe);
    }
    if (generation === this.#generation) this.#scheduleHeartbeat(generation, this.#settings.heartbeatMs);
  }
}

/**
 * The notifier over Redis TCP (`ioredis`): for containers and Node processes, with
 * `REDIS_URL` (`redis://`, or `rediss://` for TLS) and `REDIS_PASSWORD`.
 *
 * Two connections per notifier, however many subscriptions: one publisher, and one
 * subscriber shared by every channel (SUBSCRIBE on a channel's first subscriber,
 * UNSUBSCRIBE after its last). Both reconnect with back-off after Redis restarts; the
 * subscriber then subscribes to every channel again before reporting `connected`.
 * @module
 */
import { Redis, type RedisOptions, type RedisStatus } from 'ioredis';
import type { Notifier, SubscribeOptions, Unsubscribe } from '../../core/notifier.ts';
import { backoffDelay, type RetryOptions } from '../edge/backoff.ts';
import { ChannelMultiplexer } from '../edge/channel-multiplexer.ts';
import { assertChannel } from '../../core/events/channel-name.ts';
import { isProbeMessage } from '../edge/liveness-probe.ts';
import {
  closedError,
  NotifierError,
  reportNotifierError,
  warnNotifierError,
  type NotifierErrorHandler,
} from '../../core/notifier-error.ts';
import { redact, redisConnectionOptions, type RedisConnection } from './redis-connection-options.ts';
import { channelKey, createRedisSubscriberTransport } from './redis-subscriber-transport.ts';

/** How to create a {@link createRedisNotifier | Redis notifier}. */
export interface RedisNotifierOptions extends RedisConnection {
  /**
   * Prefix of the connection names shown by `CLIENT LIST`: `<name>:publish` and
   * `<name>:subscribe` (default: edge-task-worker).
   */
  connectionName?: string;
  /**
   * Longest wait for a PUBLISH, including connecting, in milliseconds. While Redis is known
   * to be down, `publish` rejects at once instead (default: 2000).
   */
  publishTimeoutMs?: number;
  /** Give up on one connection attempt after this many milliseconds (default: 10000). */
  connectTimeoutMs?: number;
  /** Ping the subscriber connection this often to notice a dead socket; 0 turns it off (default: 30000). */
  heartbeatMs?: number;
  /** Back-off between reconnection attempts (default: 100 ms doubling up to 5000 ms). */
  retry?: RetryOptions;
  /** Receives connection errors and exceptions from `onMessage` (default: `console.warn`). */
  onError?: NotifierErrorHandler;
}

/** A {@link Notifier} over Redis TCP. */
export function createRedisNotifier(options: RedisNotifierOptions): Notifier {
  const connection = redisConnectionOptions(options);
  const name = options.connectionName ?? 'edge-task-worker';
  const publishTimeoutMs = options.publishTimeoutMs ?? 2_000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const onError = options.onError ?? warnNotifierError;
  const where = redact(options.url);

  const publisher = createPublisher(connection, {
    name,
    publishTimeoutMs,
    connectTimeoutMs,
    retry: options.retry,
    onError,
  });

  const subscriptions = new ChannelMultiplexer(
    createRedisSubscriberTransport({
      ...connection,
      connectionName: `${name}:subscribe`,
      connectTimeout: connectTimeoutMs,
    }),
    { retry: options.retry, connectTimeoutMs, heartbeatMs: options.heartbeatMs, onError },
  );
  let closed = false;

  return {
    async publish(channel, message) {
      assertChannel(channel);
      if (closed) throw closedError(channel);
      try {
        await whenConnected(publisher, publishTimeoutMs);
        await publisher.publish(channel, message);
      } catch (error) {
        throw new NotifierError(
          'PUBLISH_FAILED',
          `Could not publish on ${channel} to Redis at ${where}: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error, channel },
        );
      }
    },
    async subscribe(channel, onMessage, subscribeOptions?: SubscribeOptions): Promise<Unsubscribe> {
      assertChannel(channel);
      if (closed) throw closedError(channel);
      return await subscriptions.add(channelKey(channel), {
        onMessage: (message) => {
          if (!isProbeMessage(message)) onMessage(message);
        },
        onStatus: subscribeOptions?.onStatus,
      });
    },
    async close() {
      closed = true;
      publisher.disconnect();
      await subscriptions.close();
    },
  };
}

/** The publishing connection: connects on first use and fails fast while Redis is down. */
function createPublisher(
  connection: RedisOptions,
  settings: {
    name: string;
    publishTimeoutMs: number;
    connectTimeoutMs: number;
    retry: RetryOptions | undefined;
    onError: NotifierErrorHandler;
  },
): Redis {
  const { name, publishTimeoutMs, connectTimeoutMs, retry, onError } = settings;
  const publisher = new Redis({
    ...connection,
    connectionName: `${name}:publish`,
    lazyConnect: true,
    // Fail fast: a notification is a hint, and a caller must not hang (or pile up
    // commands in memory) because Redis is down. Nothing is replayed after a reconnect.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: publishTimeoutMs,
    connectTimeout: connectTimeoutMs,
    retryStrategy: (times) => backoffDelay(times - 1, retry),
  });
  publisher.on('error', (error: Error) => reportNotifierError(onError, error));
  return publisher;
}

/**
 * Resolves once `publisher` is ready: at once when it is neither waiting to connect nor
 * connecting, else on `ready`; rejects when the attempt fails or takes `publishTimeoutMs`.
 */
async function whenConnected(publisher: Redis, publishTimeoutMs: number): Promise<void> {
  const connecting: RedisStatus[] = ['wait', 'connecting', 'connect'];
  if (!connecting.includes(publisher.status)) return;
  if (publisher.status === 'wait') publisher.connect().catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    const finish = (error?: Error) => {
      clearTimeout(timer);
      publisher.off('ready', onReady);
      publisher.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onReady = () => finish();
    const onClose = () => finish(new Error('the connection attempt failed'));
    const timer = setTimeout(
      () => finish(new Error(`not connected after ${publishTimeoutMs} ms`)),
      publishTimeoutMs,
    );
    publisher.on('ready', onReady);
    publisher.on('close', onClose);
  });
}

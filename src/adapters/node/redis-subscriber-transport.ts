/**
 * The Redis side of a {@link ChannelMultiplexer}: one ioredis connection in subscriber mode.
 * Listened names carry their kind, so one connection serves channels and patterns:
 * {@link channelKey} for SUBSCRIBE, {@link patternKey} for PSUBSCRIBE.
 * @module
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { MultiplexConnection, MultiplexTransport } from '../edge/channel-multiplexer.ts';

const CHANNEL = 'c';
const PATTERN = 'p';
// Redis takes any number of channels per SUBSCRIBE; chunks keep one reply from being huge.
const CHUNK = 500;

/** The multiplexer name of a channel. */
export function channelKey(channel: string): string {
  return CHANNEL + channel;
}

/** The multiplexer name of a pattern. */
export function patternKey(pattern: string): string {
  return PATTERN + pattern;
}

/**
 * Opens subscriber connections with `options` (host, credentials, TLS, name). ioredis never
 * reconnects or resubscribes by itself here: the multiplexer does both, so that it knows
 * when every channel is really listened on again and can report `connected` only then.
 */
export function createRedisSubscriberTransport(options: RedisOptions): MultiplexTransport {
  return {
    async connect(events): Promise<MultiplexConnection> {
      const redis = new Redis({
        ...options,
        lazyConnect: true,
        enableOfflineQueue: false,
        autoResubscribe: false,
        autoResendUnfulfilledCommands: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      let open = false;
      let closing = false;
      let lastError: Error | undefined;
      // Failures surface through connect() and 'close'; this only keeps the message.
      redis.on('error', (error: Error) => {
        lastError = error;
      });
      redis.on('message', (channel: string, message: string) =>
        events.message(CHANNEL + channel, channel, message),
      );
      redis.on('pmessage', (pattern: string, channel: string, message: string) =>
        events.message(PATTERN + pattern, channel, message),
      );
      redis.on('close', () => {
        if (open && !closing) {
          events.lost(
            new Error(`Redis subscriber connection closed${lastError ? `: ${lastError.message}` : ''}`),
          );
        }
      });
      try {
        await redis.connect();
      } catch (error) {
        redis.disconnect();
        throw error;
      }
      open = true;
      const each = async (
        names: readonly string[],
        kind: string,
        run: (batch: string[]) => Promise<unknown>,
      ) => {
        const selected = names.filter((name) => name.startsWith(kind)).map((name) => name.slice(1));
        for (let i = 0; i < selected.length; i += CHUNK) await run(selected.slice(i, i + CHUNK));
      };
      return {
        async listen(names) {
          await Promise.all([
            each(names, CHANNEL, (batch) => redis.subscribe(...batch)),
            each(names, PATTERN, (batch) => redis.psubscribe(...batch)),
          ]);
        },
        async unlisten(names) {
          await Promise.all([
            each(names, CHANNEL, (batch) => redis.unsubscribe(...batch)),
            each(names, PATTERN, (batch) => redis.punsubscribe(...batch)),
          ]);
        },
        async ping() {
          await redis.ping();
        },
        async close() {
          closing = true;
          redis.disconnect();
        },
      };
    },
  };
}

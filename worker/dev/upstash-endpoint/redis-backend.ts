/**
 * The endpoint's backend on a real Redis: commands go through one ioredis connection (RESP2,
 * so replies have exactly the shapes Upstash's REST API returns), subscriptions through one
 * shared subscriber connection, however many event streams are open.
 * @module
 */
import { Command, Redis, type Pipeline } from 'ioredis';
import { ChannelMultiplexer } from '../../../src/adapters/edge/channel-multiplexer.ts';
import { redisConnectionOptions } from '../../../src/adapters/node/redis-connection-options.ts';
import {
  channelKey,
  createRedisSubscriberTransport,
  patternKey,
} from '../../../src/adapters/node/redis-subscriber-transport.ts';
import { ReplyError, type CommandBackend, type Reply } from './reply.ts';

// Commands that change the state of the connection they run on. Every REST request shares
// one connection, so they would leak into other clients' requests (or block them all).
const CONNECTION_COMMANDS = new Set([
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
  'monitor',
  'select',
  'quit',
  'reset',
  'hello',
  'auth',
  'multi',
  'exec',
  'discard',
  'watch',
  'unwatch',
  'client',
  'blpop',
  'brpop',
  'blmove',
  'brpoplpush',
  'bzpopmin',
  'bzpopmax',
  'blmpop',
  'bzmpop',
  'wait',
]);

function refused(command: readonly string[]): ReplyError | undefined {
  const name = (command[0] ?? '').toLowerCase();
  if (!CONNECTION_COMMANDS.has(name)) return undefined;
  const hint = name.includes('subscribe') ? ': use POST /subscribe/<channel> or /psubscribe/<pattern>' : '';
  return new ReplyError(`ERR ${name.toUpperCase()} is not supported over REST${hint}`);
}

/**
 * A command whose reply ioredis leaves alone: no Buffer-to-string conversion and none of its
 * per-command transformers (HGETALL into an object, ZRANGE WITHSCORES into pairs), so the
 * reply keeps the RESP2 shape Upstash sends.
 */
class RawCommand extends Command {
  constructor(name: string, args: readonly string[]) {
    super(name, [...args], { replyEncoding: null });
  }
  override transformReply(result: Buffer | Buffer[]): Buffer | Buffer[] {
    return result;
  }
}

function asReply(value: unknown): Reply {
  if (value instanceof Error) return new ReplyError(value.message);
  if (Array.isArray(value)) return value.map(asReply);
  return value as Reply;
}

function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ReplyError';
}

/**
 * A {@link CommandBackend} forwarding to the Redis at `url`.
 * @returns once connected; rejects when Redis cannot be reached.
 */
export async function createRedisBackend(url: string): Promise<CommandBackend> {
  const connection = redisConnectionOptions({ url });
  const redis = new Redis({
    ...connection,
    protocol: 2,
    connectionName: 'upstash-endpoint',
    lazyConnect: true,
    // A REST client gets an answer (an error) while Redis is down rather than a hung request.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new Error(
      `Redis at ${connection.host}:${connection.port} is unreachable: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const subscriptions = new ChannelMultiplexer(
    createRedisSubscriberTransport({ ...connection, connectionName: 'upstash-endpoint:subscribe' }),
    { onError: () => undefined, retry: { maxDelayMs: 1000 } },
  );

  return {
    async run(command) {
      const rejected = refused(command);
      if (rejected) return rejected;
      const [name, ...args] = command;
      try {
        const command = new RawCommand(name!, args);
        redis.sendCommand(command);
        return asReply(await command.promise);
      } catch (error) {
        if (isReplyError(error)) return new ReplyError(error.message);
        throw error;
      }
    },
    async transaction(commands) {
      const rejected = commands.map(refused).find((error) => error !== undefined);
      if (rejected) return new ReplyError(`EXECABORT Transaction discarded because of previous errors.`);
      // The typings hide it, but a transaction is a Pipeline and takes raw commands too.
      const multi = redis.multi() as unknown as Pipeline;
      for (const [name, ...args] of commands) multi.sendCommand(new RawCommand(name!, args));
      try {
        const results = (await multi.exec()) ?? [];
        return results.map(([error, value]) => (error ? new ReplyError(error.message) : asReply(value)));
      } catch (error) {
        if (isReplyError(error)) return new ReplyError(error.message);
        throw error;
      }
    },
    async subscribe(kind, name, onMessage, lost) {
      let down = false;
      const stop = await subscriptions.add(kind === 'channel' ? channelKey(name) : patternKey(name), {
        onMessage: (message, channel) => onMessage(channel, message),
        onStatus: (status) => {
          if (status !== 'disconnected' || down) return;
          down = true;
          lost();
        },
      });
      if (down) {
        await stop();
        throw new Error(`Redis at ${connection.host}:${connection.port} is unreachable`);
      }
      return stop;
    },
    async close() {
      await subscriptions.close();
      redis.disconnect();
    },
  };
}

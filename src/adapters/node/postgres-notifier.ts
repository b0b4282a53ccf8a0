/**
 * The notifier over Postgres LISTEN/NOTIFY: no Redis at all. Publishes with
 * `select pg_notify($1, $2)` (through a {@link Database} you pass, or a small pool of its own);
 * listens on one dedicated connection for every channel, re-LISTENing after a reconnect.
 *
 * Limits Postgres sets, and what this notifier does about them:
 * - A payload must be shorter than 8000 bytes: `publish` rejects 8000 bytes and more with
 *   {@link NotifierError} `MESSAGE_TOO_LARGE` (task events are a few hundred bytes).
 * - A channel is an identifier of at most 63 bytes; a longer name would be cut silently and
 *   could collide with another. Longer names become their first 40 bytes, `~`, and 22
 *   characters of their SHA-256 (see {@link postgresChannelName}); both sides map alike.
 * - LISTEN needs a session of its own: Neon's `-pooler` host (PgBouncer in transaction mode)
 *   cannot hold one, so it is refused with a {@link ConfigError}. Notifications sent while a
 *   Neon compute is suspended are lost (hints only; waiters poll).
 * @module
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Database } from '../../core/database.ts';
import { ConfigError } from '../../core/errors.ts';
import type { Notifier, SubscribeOptions, Unsubscribe } from '../../core/notifier.ts';
import type { RetryOptions } from '../edge/backoff.ts';
import { ChannelMultiplexer } from '../edge/channel-multiplexer.ts';
import { assertChannel } from '../../core/events/channel-name.ts';
import {
  closedError,
  NotifierError,
  warnNotifierError,
  type NotifierErrorHandler,
} from '../../core/notifier-error.ts';
import { createPostgresListenTransport } from './postgres-listen-transport.ts';

/** Largest NOTIFY payload Postgres accepts, in bytes (it must be shorter than 8000). */
export const POSTGRES_PAYLOAD_LIMIT = 7999;

const IDENTIFIER_BYTES = 63;
const HEAD_BYTES = 40;

/** The Postgres channel that carries `channel`: itself up to 63 bytes, hashed beyond. */
export function postgresChannelName(channel: string): string {
  if (Buffer.byteLength(channel) <= IDENTIFIER_BYTES) return channel;
  let head = '';
  for (const character of channel) {
    if (Buffer.byteLength(head + character) > HEAD_BYTES) break;
    head += character;
  }
  return `${head}~${createHash('sha256').update(channel).digest('base64url').slice(0, 22)}`;
}

/** How to create a {@link createPostgresNotifier | Postgres notifier}. */
export interface PostgresNotifierOptions {
  /**
   * A direct (not pooled) `postgres://` URL for the LISTEN connection, also used to publish
   * when no `database` is given.
   */
  connectionString: string;
  /** Publish through this driver instead of a pool of the notifier's own (default: own pool of 2). */
  database?: Database;
  /**
   * Prefix of `application_name`: `<name>:listen` for the listener, `<name>:publish` for the
   * notifier's own pool (default: edge-task-worker).
   */
  applicationName?: string;
  /** Give up on one connection attempt after this many milliseconds (default: 10000). */
  connectTimeoutMs?: number;
  /** Ping the LISTEN connection this often to notice a dead socket; 0 turns it off (default: 30000). */
  heartbeatMs?: number;
  /** Back-off between reconnection attempts (default: 100 ms doubling up to 5000 ms). */
  retry?: RetryOptions;
  /** Receives connection errors and exceptions from `onMessage` (default: `console.warn`). */
  onError?: NotifierErrorHandler;
}

/**
 * A {@link Notifier} over Postgres LISTEN/NOTIFY.
 * @throws ConfigError for a Neon pooled URL (host containing `-pooler`).
 */
export function createPostgresNotifier(options: PostgresNotifierOptions): Notifier {
  assertDirectConnection(options.connectionString);
  const name = options.applicationName ?? 'edge-task-worker';
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const onError = options.onError ?? warnNotifierError;
  const sender = pgNotifySender(options, name, connectTimeoutMs);

  const subscriptions = new ChannelMultiplexer(
    createPostgresListenTransport({
      connectionString: options.connectionString,
      application_name: `${name}:listen`,
      connectionTimeoutMillis: connectTimeoutMs,
      keepAlive: true,
    }),
    { retry: options.retry, connectTimeoutMs, heartbeatMs: options.heartbeatMs, onError },
  );
  let closed = false;

  return {
    async publish(channel, message) {
      assertChannel(channel);
      if (closed) throw closedError(channel);
      assertNotifyPayload(channel, message);
      try {
        await sender.notify(postgresChannelName(channel), message);
      } catch (error) {
        throw new NotifierError(
          'PUBLISH_FAILED',
          `Could not publish on ${channel} with pg_notify: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error, channel },
        );
      }
    },
    async subscribe(channel, onMessage, subscribeOptions?: SubscribeOptions): Promise<Unsubscribe> {
      assertChannel(channel);
      if (closed) throw closedError(channel);
      return await subscriptions.add(postgresChannelName(channel), {
        onMessage: (message) => onMessage(message),
        onStatus: subscribeOptions?.onStatus,
      });
    },
    postgresChannel(channel) {
      assertChannel(channel);
      return postgresChannelName(channel);
    },
    async close() {
      closed = true;
      await subscriptions.close();
      await sender.close();
    },
  };
}

/**
 * Sends `pg_notify` through `options.database`, or else through a pool of 2 of its own,
 * opened on the first send; `close()` ends that pool.
 */
function pgNotifySender(
  options: PostgresNotifierOptions,
  name: string,
  connectTimeoutMs: number,
): { notify(channel: string, message: string): Promise<void>; close(): Promise<void> } {
  let pool: pg.Pool | undefined;
  const publishDatabase = options.database;
  return {
    async notify(channel, message) {
      if (publishDatabase) {
        await publishDatabase.query('select pg_notify($1, $2)', [channel, message]);
        return;
      }
      if (!pool) {
        pool = new pg.Pool({
          connectionString: options.connectionString,
          max: 2,
          application_name: `${name}:publish`,
          connectionTimeoutMillis: connectTimeoutMs,
        });
        // An idle client dying (restart, terminate) is replaced on the next query.
        pool.on('error', () => undefined);
      }
      await pool.query('select pg_notify($1, $2)', [channel, message]);
    },
    async close() {
      const owned = pool;
      pool = undefined;
      await owned?.end();
    },
  };
}

/** Refuses a message Postgres NOTIFY cannot carry: 8000 bytes or more, or a NUL character. */
function assertNotifyPayload(channel: string, message: string): void {
  const bytes = Buffer.byteLength(message);
  if (bytes > POSTGRES_PAYLOAD_LIMIT) {
    throw new NotifierError(
      'MESSAGE_TOO_LARGE',
      `A message on ${channel} is ${bytes} bytes; Postgres NOTIFY carries at most ${POSTGRES_PAYLOAD_LIMIT}. ` +
        'Publish an id and read the rest from the database.',
      { channel },
    );
  }
  if (message.includes('\u0000')) {
    throw new NotifierError(
      'INVALID_MESSAGE',
      `A message on ${channel} contains a NUL character, which Postgres text cannot hold.`,
      {
        channel,
      },
    );
  }
}

function assertDirectConnection(connectionString: string): void {
  let host: string | undefined;
  try {
    host = new URL(connectionString).hostname;
  } catch {
    host = /(?:^|\s)host=(\S+)/.exec(connectionString)?.[1];
  }
  if (host?.includes('-pooler')) {
    throw new ConfigError(
      `The Postgres notifier needs a direct connection, but ${host} is Neon's pooled host (PgBouncer in ` +
        `transaction mode), which cannot keep a LISTEN. Use the direct host: ${host.replace('-pooler', '')}.`,
    );
  }
}

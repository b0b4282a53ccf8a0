/**
 * Many subscriptions over one connection: the shared logic of the Redis TCP and Postgres
 * LISTEN notifiers. It counts listeners per channel (SUBSCRIBE/LISTEN on the first,
 * UNSUBSCRIBE/UNLISTEN after the last), owns reconnection with back-off, re-listens on every
 * channel after a reconnect, pings the connection to notice half-open sockets, and reports
 * each listener's status. Transports only know how to open one connection.
 * @module
 */
import type { NotifierStatus } from '../../core/notifier.ts';
import { backoffDelay, type RetryOptions } from './backoff.ts';
import { closedError, reportNotifierError, type NotifierErrorHandler } from '../../core/notifier-error.ts';
import { createStatusReporter, type StatusReporter } from './status-reporter.ts';
import { withTimeout } from './timeout.ts';

/** One open connection of a {@link MultiplexTransport}. */
export interface MultiplexConnection {
  /** Starts listening on `names`; resolves once the server confirmed. */
  listen(names: readonly string[]): Promise<void>;
  /** Stops listening on `names`. */
  unlisten(names: readonly string[]): Promise<void>;
  /** A round trip; rejects when the connection is dead. */
  ping(): Promise<void>;
  /** Closes the connection; `lost` is not called for it afterwards. */
  close(): Promise<void>;
}

/** What a connection reports back to the multiplexer. */
export interface MultiplexEvents {
  /** A message arrived for the listened `name` (a channel, or a pattern matching `channel`). */
  message(name: string, channel: string, message: string): void;
  /** The connection dropped. */
  lost(error?: unknown): void;
}

/** Opens connections. */
export interface MultiplexTransport {
  connect(events: MultiplexEvents): Promise<MultiplexConnection>;
}

/** How a {@link ChannelMultiplexer} behaves. */
export interface MultiplexerOptions {
  retry?: RetryOptions;
  /** Give up on one connection attempt after this many milliseconds (default: 10000). */
  connectTimeoutMs?: number;
  /** Ping the connection this often; 0 turns it off (default: 30000). */
  heartbeatMs?: number;
  onError: NotifierErrorHandler;
}

/** One subscriber on a name. */
export interface MultiplexListener {
  onMessage(message: string, channel: string): void;
  onStatus?: ((status: NotifierStatus) => void) | undefined;
}

interface Member extends MultiplexListener {
  reporter: StatusReporter;
}

interface Entry {
  members: Set<Member>;
  /** The LISTEN on the current connection, once sent. */
  listened: Promise<void> | undefined;
}

/** Ref-counted subscriptions over one reconnecting connection. */
export class ChannelMultiplexer {
  readonly #transport: MultiplexTransport;
  readonly #options: MultiplexerOptions;
  readonly #entries = new Map<string, Entry>();
  #connection: MultiplexConnection | undefined;
  #connecting: Promise<MultiplexConnection | undefined> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  #closed = false;

  constructor(transport: MultiplexTransport, options: MultiplexerOptions) {
    this.#transport = transport;
    this.#options = options;
  }

  /**
   * Adds a listener on `name`. Resolves once it is active, or once the first attempt failed
   * (then `onStatus('disconnected')` was called and retries go on in the background).
   * @returns a function that removes the listener; idempotent.
   */
  async add(name: string, listener: MultiplexListener): Promise<() => Promise<void>> {
    if (this.#closed) throw closedError(name);
    const member: Member = {
      ...listener,
      reporter: createStatusReporter(listener.onStatus, this.#options.onError),
    };
    let entry = this.#entries.get(name);
    if (!entry) {
      entry = { members: new Set(), listened: undefined };
      this.#entries.set(name, entry);
    }
    entry.members.add(member);
    if (!(await this.#listen(name, entry)) && !this.#closed) member.reporter.down();
    let removed = false;
    return async () => {
      if (removed) return;
      removed = true;
      await this.#remove(name, member);
    };
  }

  /** Drops every listener and closes the connection. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#entries.clear();
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#heartbeatTimer);
    const connection = this.#connection ?? (await this.#connecting);
    this.#connection = undefined;
    await connection?.close().catch(() => undefined);
  }

  async #listen(name: string, entry: Entry): Promise<boolean> {
    const connection = await this.#connect();
    if (!connection || this.#entries.get(name) !== entry) return false;
    entry.listened ??= connection.listen([name]);
    try {
      await entry.listened;
    } catch (error) {
      this.#drop(connection, error);
      return false;
    }
    return this.#connection === connection;
  }

  async #remove(name: string, member: Member): Promise<void> {
    const entry = this.#entries.get(name);
    if (!entry?.members.delete(member) || entry.members.size > 0) return;
    this.#entries.delete(name);
    const connection = this.#connection;
    // Commands run in order on the connection: a LISTEN for a new listener on the same name,
    // sent after this, still wins.
    if (connection && entry.listened) await connection.unlisten([name]).catch(() => undefined);
  }

  #connect(): Promise<MultiplexConnection | undefined> {
    if (this.#connection) return Promise.resolve(this.#connection);
    if (this.#connecting) return this.#connecting;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#connecting = this.#open().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #open(): Promise<MultiplexConnection | undefined> {
    let connection: MultiplexConnection | undefined;
    const events: MultiplexEvents = {
      message: (name, channel, message) => this.#deliver(name, channel, message),
      lost: (error) => {
        if (connection) this.#drop(connection, error);
      },
    };
    const opening = this.#transport.connect(events);
    try {
      connection = await withTimeout(opening, this.#options.connectTimeoutMs ?? 10_000, 'connecting');
    } catch (error) {
      // A connection that shows up after the timeout belongs to nobody.
      opening
        .then(
          (late) => late.close(),
          () => undefined,
        )
        .catch(() => undefined);
      reportNotifierError(this.#options.onError, error);
      this.#scheduleRetry();
      return undefined;
    }
    if (this.#closed) {
      await connection.close().catch(() => undefined);
      return undefined;
    }
    this.#connection = connection;
    const entries = [...this.#entries];
    if (entries.length > 0) {
      const listened = connection.listen(entries.map(([name]) => name));
      for (const [, entry] of entries) entry.listened = listened;
      try {
        await listened;
      } catch (error) {
        this.#drop(connection, error);
        return undefined;
      }
      // Names whose last listener left while the LISTEN was on its way: nobody reads them.
      const abandoned = entries.map(([name]) => name).filter((name) => !this.#entries.has(name));
      if (abandoned.length > 0) void connection.unlisten(abandoned).catch(() => undefined);
    }
    if (this.#connection !== connection) return undefined;
    this.#failures = 0;
    for (const [, entry] of entries) for (const member of entry.members) member.reporter.up();
    this.#scheduleHeartbeat(connection);
    return connection;
  }

  #drop(connection: MultiplexConnection, error: unknown): void {
    if (this.#connection !== connection) return;
    this.#connection = undefined;
    clearTimeout(this.#heartbeatTimer);
    if (error !== undefined) reportNotifierError(this.#options.onError, error);
    void connection.close().catch(() => undefined);
    for (const entry of this.#entries.values()) {
      entry.listened = undefined;
      for (const member of entry.members) member.reporter.down();
    }
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#retryTimer !== undefined || this.#entries.size === 0) return;
    const delay = backoffDelay(this.#failures++, this.#options.retry);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#closed && this.#entries.size > 0) void this.#connect();
    }, delay);
  }

  #scheduleHeartbeat(connection: MultiplexConnection): void {
    const interval = this.#options.heartbeatMs ?? 30_000;
    if (interval <= 0 || this.#closed || this.#connection !== connection) return;
    clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = setTimeout(() => {
      if (this.#connection !== connection) return;
      // A socket whose peer vanished (NAT timeout, failover) stays "open" for minutes; a
      // ping that goes unanswered is the only way to notice it on a quiet subscription.
      withTimeout(connection.ping(), Math.min(interval, 10_000), 'ping').then(
        () => this.#scheduleHeartbeat(connection),
        (error: unknown) => this.#drop(connection, error),
      );
    }, interval);
  }

  #deliver(name: string, channel: string, message: string): void {
    const entry = this.#entries.get(name);
    if (!entry) return;
    for (const member of entry.members) {
      try {
        member.onMessage(message, channel);
      } catch (error) {
        reportNotifierError(this.#options.onError, error);
      }
    }
  }
}

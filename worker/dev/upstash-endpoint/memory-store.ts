/**
 * The keyspace of the in-memory backend: strings, hashes and lists with expiry, evaluated
 * lazily (an expired key disappears when it is next touched or listed).
 * @module
 */
import { ReplyError } from './reply.ts';

/** A stored value. Strings are bytes, as in Redis. */
export type StoredValue =
  | { type: 'string'; value: Buffer }
  | { type: 'hash'; value: Map<string, Buffer> }
  | { type: 'list'; value: Buffer[] };

/** Thrown by commands; the backend turns it into an error reply. */
export class CommandFailure extends Error {
  readonly reply: ReplyError;
  constructor(message: string) {
    super(message);
    this.reply = new ReplyError(message);
  }
}

/** Redis's error for a command on a key of another type. */
export const WRONG_TYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';

/** Keys, values and expiry times (epoch milliseconds). `now` is injectable for tests. */
export class MemoryStore {
  readonly #values = new Map<string, StoredValue>();
  readonly #expiries = new Map<string, number>();
  readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  get(key: string): StoredValue | undefined {
    const expiry = this.#expiries.get(key);
    if (expiry !== undefined && expiry <= this.now()) this.delete(key);
    return this.#values.get(key);
  }

  /** The value when it has `type`; `undefined` when missing; a WRONGTYPE failure otherwise. */
  typed<T extends StoredValue['type']>(key: string, type: T): Extract<StoredValue, { type: T }> | undefined {
    const stored = this.get(key);
    if (stored === undefined) return undefined;
    if (stored.type !== type) throw new CommandFailure(WRONG_TYPE);
    return stored as Extract<StoredValue, { type: T }>;
  }

  /** Stores `value`; the key's expiry is dropped unless `keepTtl`. */
  set(key: string, value: StoredValue, keepTtl = false): void {
    this.get(key);
    this.#values.set(key, value);
    if (!keepTtl) this.#expiries.delete(key);
  }

  delete(key: string): boolean {
    this.#expiries.delete(key);
    return this.#values.delete(key);
  }

  /** Sets (or with `undefined`, removes) the expiry of an existing key. */
  expireAt(key: string, at: number | undefined): boolean {
    if (this.get(key) === undefined) return false;
    if (at === undefined) return this.#expiries.delete(key);
    if (at <= this.now()) this.delete(key);
    else this.#expiries.set(key, at);
    return true;
  }

  /** Milliseconds to live: -2 for a missing key, -1 for one without expiry. */
  ttl(key: string): number {
    if (this.get(key) === undefined) return -2;
    const expiry = this.#expiries.get(key);
    return expiry === undefined ? -1 : expiry - this.now();
  }

  keys(): string[] {
    return [...this.#values.keys()].filter((key) => this.get(key) !== undefined);
  }

  clear(): void {
    this.#values.clear();
    this.#expiries.clear();
  }
}

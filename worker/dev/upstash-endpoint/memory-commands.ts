/**
 * The Redis commands the in-memory backend understands: what this project, its tests and
 * `task-worker dev` use, with Redis's replies and error messages.
 * @module
 */
import { globToRegExp } from './glob-pattern.ts';
import type { MemoryPubSub } from './memory-pubsub.ts';
import { CommandFailure, WRONG_TYPE, type MemoryStore } from './memory-store.ts';
import type { Reply } from './reply.ts';

/** What a command can touch. */
export interface MemoryContext {
  store: MemoryStore;
  pubsub: MemoryPubSub;
}

type Run = (context: MemoryContext, args: string[]) => Reply;

/** `arity` as in Redis's COMMAND: exact count including the name, or at least -arity. */
interface CommandSpec {
  arity: number;
  run: Run;
}

const bytes = (text: string) => Buffer.from(text);

function integer(text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || !/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) {
    throw new CommandFailure('ERR value is not an integer or out of range');
  }
  return value;
}

function incrementBy(context: MemoryContext, key: string, delta: number): number {
  const current = context.store.typed(key, 'string');
  const value = (current ? integer(current.value.toString()) : 0) + delta;
  if (!Number.isSafeInteger(value)) throw new CommandFailure('ERR increment or decrement would overflow');
  context.store.set(key, { type: 'string', value: bytes(String(value)) }, true);
  return value;
}

function set(context: MemoryContext, [key, value, ...options]: string[]): Reply {
  let expiresAt: number | undefined;
  let condition: 'NX' | 'XX' | undefined;
  let keepTtl = false;
  let get = false;
  for (let i = 0; i < options.length; i++) {
    const option = options[i]!.toUpperCase();
    if ((option === 'NX' || option === 'XX') && !condition) condition = option;
    else if (option === 'KEEPTTL' && expiresAt === undefined) keepTtl = true;
    else if (option === 'GET') get = true;
    else if (['EX', 'PX', 'EXAT', 'PXAT'].includes(option) && expiresAt === undefined && !keepTtl) {
      const amount = integer(options[++i]);
      if (amount <= 0) throw new CommandFailure("ERR invalid expire time in 'set' command");
      const now = context.store.now();
      expiresAt = { EX: now + amount * 1000, PX: now + amount, EXAT: amount * 1000, PXAT: amount }[option];
    } else throw new CommandFailure('ERR syntax error');
  }
  const previous = context.store.get(key!);
  if (get && previous && previous.type !== 'string') throw new CommandFailure(WRONG_TYPE);
  const old = previous?.type === 'string' ? previous.value : null;
  if ((condition === 'NX' && previous) || (condition === 'XX' && !previous)) return get ? old : null;
  context.store.set(key!, { type: 'string', value: bytes(value!) }, keepTtl);
  if (expiresAt !== undefined) context.store.expireAt(key!, expiresAt);
  return get ? old : 'OK';
}

function expire(context: MemoryContext, key: string, ms: number): number {
  return context.store.expireAt(key, context.store.now() + ms) ? 1 : 0;
}

function hash(context: MemoryContext, key: string, create: boolean): Map<string, Buffer> | undefined {
  const stored = context.store.typed(key, 'hash');
  if (stored || !create) return stored?.value;
  const value = new Map<string, Buffer>();
  context.store.set(key, { type: 'hash', value });
  return value;
}

function list(context: MemoryContext, key: string, create: boolean): Buffer[] | undefined {
  const stored = context.store.typed(key, 'list');
  if (stored || !create) return stored?.value;
  const value: Buffer[] = [];
  context.store.set(key, { type: 'list', value });
  return value;
}

function dropIfEmpty(context: MemoryContext, key: string, size: number): void {
  if (size === 0) context.store.delete(key);
}

function pop(
  context: MemoryContext,
  [key, count]: string[],
  take: (items: Buffer[]) => Buffer | undefined,
): Reply {
  const items = list(context, key!, false);
  const n = count === undefined ? undefined : integer(count);
  if (!items) return null;
  const taken: Buffer[] = [];
  for (let i = 0; i < (n ?? 1) && items.length > 0; i++) taken.push(take(items)!);
  dropIfEmpty(context, key!, items.length);
  return n === undefined ? (taken[0] ?? null) : taken;
}

function pubsub(context: MemoryContext, [sub, ...args]: string[]): Reply {
  switch (sub!.toUpperCase()) {
    case 'NUMSUB':
      return args.flatMap((channel) => [channel, context.pubsub.count(channel)]);
    case 'CHANNELS':
      return context.pubsub.channels(args[0]);
    case 'NUMPAT':
      return context.pubsub.patternCount();
    default:
      throw new CommandFailure(`ERR unknown subcommand '${sub}'. Try PUBSUB HELP.`);
  }
}

const ttlSeconds = (ms: number) => (ms < 0 ? ms : Math.round(ms / 1000));

/** Commands by lower-case name. */
export const MEMORY_COMMANDS: ReadonlyMap<string, CommandSpec> = new Map<string, CommandSpec>([
  ['ping', { arity: -1, run: (_, [message]) => (message === undefined ? 'PONG' : bytes(message)) }],
  ['echo', { arity: 2, run: (_, [message]) => bytes(message!) }],
  ['get', { arity: 2, run: (c, [key]) => c.store.typed(key!, 'string')?.value ?? null }],
  ['set', { arity: -3, run: set }],
  ['setex', { arity: 4, run: (c, [key, seconds, value]) => set(c, [key!, value!, 'EX', seconds!]) }],
  ['setnx', { arity: 3, run: (c, [key, value]) => (set(c, [key!, value!, 'NX']) === 'OK' ? 1 : 0) }],
  [
    'mget',
    {
      arity: -2,
      run: (c, keys) =>
        keys.map((key) => {
          const v = c.store.get(key);
          return v?.type === 'string' ? v.value : null;
        }),
    },
  ],
  [
    'del',
    {
      arity: -2,
      run: (c, keys) => keys.filter((key) => c.store.get(key) !== undefined && c.store.delete(key)).length,
    },
  ],
  [
    'unlink',
    {
      arity: -2,
      run: (c, keys) => keys.filter((key) => c.store.get(key) !== undefined && c.store.delete(key)).length,
    },
  ],
  ['exists', { arity: -2, run: (c, keys) => keys.filter((key) => c.store.get(key) !== undefined).length }],
  ['type', { arity: 2, run: (c, [key]) => c.store.get(key!)?.type ?? 'none' }],
  ['incr', { arity: 2, run: (c, [key]) => incrementBy(c, key!, 1) }],
  ['decr', { arity: 2, run: (c, [key]) => incrementBy(c, key!, -1) }],
  ['incrby', { arity: 3, run: (c, [key, delta]) => incrementBy(c, key!, integer(delta)) }],
  ['decrby', { arity: 3, run: (c, [key, delta]) => incrementBy(c, key!, -integer(delta)) }],
  ['expire', { arity: 3, run: (c, [key, seconds]) => expire(c, key!, integer(seconds) * 1000) }],
  ['pexpire', { arity: 3, run: (c, [key, ms]) => expire(c, key!, integer(ms)) }],
  [
    'persist',
    { arity: 2, run: (c, [key]) => (c.store.ttl(key!) >= 0 && c.store.expireAt(key!, undefined) ? 1 : 0) },
  ],
  ['ttl', { arity: 2, run: (c, [key]) => ttlSeconds(c.store.ttl(key!)) }],
  ['pttl', { arity: 2, run: (c, [key]) => c.store.ttl(key!) }],
  ['hset', { arity: -4, run: hset }],
  ['hget', { arity: 3, run: (c, [key, field]) => hash(c, key!, false)?.get(field!) ?? null }],
  [
    'hmget',
    { arity: -3, run: (c, [key, ...fields]) => fields.map((f) => hash(c, key!, false)?.get(f) ?? null) },
  ],
  ['hgetall', { arity: 2, run: (c, [key]) => [...(hash(c, key!, false) ?? [])].flatMap(([f, v]) => [f, v]) }],
  ['hdel', { arity: -3, run: hdel }],
  ['hexists', { arity: 3, run: (c, [key, field]) => (hash(c, key!, false)?.has(field!) ? 1 : 0) }],
  ['hlen', { arity: 2, run: (c, [key]) => hash(c, key!, false)?.size ?? 0 }],
  ['hincrby', { arity: 4, run: hincrby }],
  [
    'lpush',
    {
      arity: -3,
      run: (c, [key, ...values]) => {
        const l = list(c, key!, true)!;
        for (const v of values) l.unshift(bytes(v));
        return l.length;
      },
    },
  ],
  [
    'rpush',
    {
      arity: -3,
      run: (c, [key, ...values]) => {
        const l = list(c, key!, true)!;
        l.push(...values.map(bytes));
        return l.length;
      },
    },
  ],
  ['lpop', { arity: -2, run: (c, args) => pop(c, args, (items) => items.shift()) }],
  ['rpop', { arity: -2, run: (c, args) => pop(c, args, (items) => items.pop()) }],
  ['llen', { arity: 2, run: (c, [key]) => list(c, key!, false)?.length ?? 0 }],
  ['lrange', { arity: 4, run: lrange }],
  ['publish', { arity: 3, run: (c, [channel, message]) => c.pubsub.publish(channel!, message!) }],
  ['pubsub', { arity: -2, run: pubsub }],
  [
    'keys',
    {
      arity: 2,
      run: (c, [pattern]) => {
        const r = globToRegExp(pattern!);
        return c.store.keys().filter((k) => r.test(k));
      },
    },
  ],
  ['dbsize', { arity: 1, run: (c) => c.store.keys().length }],
]);

function hset(context: MemoryContext, [key, ...pairs]: string[]): Reply {
  if (pairs.length % 2 !== 0) throw new CommandFailure("ERR wrong number of arguments for 'hset' command");
  const fields = hash(context, key!, true)!;
  let added = 0;
  for (let i = 0; i < pairs.length; i += 2) {
    if (!fields.has(pairs[i]!)) added++;
    fields.set(pairs[i]!, bytes(pairs[i + 1]!));
  }
  return added;
}

function hdel(context: MemoryContext, [key, ...names]: string[]): Reply {
  const fields = hash(context, key!, false);
  if (!fields) return 0;
  const removed = names.filter((name) => fields.delete(name)).length;
  dropIfEmpty(context, key!, fields.size);
  return removed;
}

function hincrby(context: MemoryContext, [key, field, delta]: string[]): Reply {
  const increment = integer(delta);
  const fields = hash(context, key!, true)!;
  const current = fields.get(field!);
  const value = (current === undefined ? 0 : integer(current.toString())) + increment;
  fields.set(field!, bytes(String(value)));
  return value;
}

function lrange(context: MemoryContext, [key, start, stop]: string[]): Reply {
  const items = list(context, key!, false) ?? [];
  const from = Math.max(0, normalizeIndex(integer(start), items.length));
  const to = Math.min(items.length - 1, normalizeIndex(integer(stop), items.length));
  return from > to ? [] : items.slice(from, to + 1);
}

function normalizeIndex(index: number, length: number): number {
  return index < 0 ? length + index : index;
}

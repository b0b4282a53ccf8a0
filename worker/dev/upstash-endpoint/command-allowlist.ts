/**
 * The commands the local Upstash endpoint runs: the data and pub/sub commands an application
 * sends through `@upstash/redis`, nothing that administers the server behind it. Everything
 * else (CONFIG, EVAL and other scripting, FLUSHALL/FLUSHDB, SHUTDOWN, DEBUG, MODULE, ACL,
 * CLIENT, SAVE, REPLICAOF, MIGRATE, MONITOR, SYNC, SELECT, SWAPDB, INFO, MEMORY, LATENCY,
 * OBJECT, DUMP/RESTORE, blocking commands, and every command not listed here) is refused
 * before it reaches a backend.
 * @module
 */
import { ReplyError } from './reply.ts';

const COMMANDS = [
  // Strings and bitmaps.
  'append decr decrby get getdel getex getrange getset incr incrby incrbyfloat lcs mget mset msetnx',
  'psetex set setex setnx setrange strlen substr bitcount bitfield bitfield_ro bitop bitpos getbit setbit',
  // Hashes (with field expiry).
  'hdel hexists hexpire hexpireat hexpiretime hget hgetall hgetdel hgetex hincrby hincrbyfloat hkeys hlen',
  'hmget hmset hpersist hpexpire hpexpireat hpexpiretime hpttl hrandfield hscan hset hsetex hsetnx',
  'hstrlen httl hvals',
  // Lists (not the blocking B* forms: they would hold the backend's shared connection).
  'lindex linsert llen lmove lmpop lpop lpos lpush lpushx lrange lrem lset ltrim rpop rpoplpush rpush',
  'rpushx',
  // Sets.
  'sadd scard sdiff sdiffstore sinter sintercard sinterstore sismember smembers smismember smove spop',
  'srandmember srem sscan sunion sunionstore',
  // Sorted sets.
  'zadd zcard zcount zdiff zdiffstore zincrby zinter zintercard zinterstore zlexcount zmpop zmscore',
  'zpopmax zpopmin zrandmember zrange zrangebylex zrangebyscore zrangestore zrank zrem zremrangebylex',
  'zremrangebyrank zremrangebyscore zrevrange zrevrangebylex zrevrangebyscore zrevrank zscan zscore',
  'zunion zunionstore',
  // HyperLogLog, geo and streams (XREAD/XREADGROUP without BLOCK, see below).
  'pfadd pfcount pfmerge geoadd geodist geohash geopos geosearch geosearchstore',
  'xack xadd xautoclaim xclaim xdel xgroup xinfo xlen xpending xrange xread xreadgroup xrevrange xtrim',
  // Keys and expiry. KEYS is O(n) but reads nothing SCAN does not, and Upstash serves it.
  'copy del dbsize exists expire expireat expiretime keys persist pexpire pexpireat pexpiretime pttl',
  'randomkey rename renamenx scan touch ttl type unlink',
  // Pub/sub (subscriptions go through POST /subscribe/...) and the harmless server commands.
  'publish spublish pubsub ping echo time',
];

const ALLOWED: ReadonlySet<string> = new Set(COMMANDS.flatMap((line) => line.split(' ')));

/** The options of `command` (before any key list), upper-cased. */
function optionsOf(command: readonly string[], from: number): string[] {
  const upper = command.map((arg) => arg.toUpperCase());
  const streams = upper.indexOf('STREAMS', from);
  return upper.slice(from, streams === -1 ? undefined : streams);
}

/** Options that turn an allowed command into one that is not: [option, why, options of]. */
const REFUSED_OPTIONS: Readonly<
  Record<string, readonly [string, string, (command: readonly string[]) => string[]]>
> = {
  // COPY src dst DB n writes into another logical database, which SELECT cannot reach either.
  copy: ['DB', 'another database', (command) => optionsOf(command, 3)],
  // BLOCK would hold the backend's one connection, which every request shares.
  xread: ['BLOCK', 'blocking', (command) => optionsOf(command, 1)],
  xreadgroup: ['BLOCK', 'blocking', (command) => optionsOf(command, 4)],
};

function shown(name: string): string {
  return name.length > 64 ? `${name.slice(0, 64)}...` : name;
}

/** Why `command` may not run, as the error reply to send; `undefined` when it may. */
export function refusedCommand(command: readonly string[]): ReplyError | undefined {
  const name = command[0] ?? '';
  const lower = name.toLowerCase();
  if (!ALLOWED.has(lower)) {
    return new ReplyError(
      `ERR command '${shown(name)}' is not allowed by the local Upstash endpoint ` +
        '(it runs data and pub/sub commands only)',
    );
  }
  const refused = REFUSED_OPTIONS[lower];
  if (refused && refused[2](command).includes(refused[0])) {
    return new ReplyError(
      `ERR command '${shown(name)}' is not allowed with ${refused[0]} by the local Upstash endpoint ` +
        `(${refused[1]})`,
    );
  }
  return undefined;
}

/** The first refusal among `commands`; `undefined` when all of them may run. */
export function refusedCommands(commands: readonly (readonly string[])[]): ReplyError | undefined {
  for (const command of commands) {
    const refused = refusedCommand(command);
    if (refused) return refused;
  }
  return undefined;
}

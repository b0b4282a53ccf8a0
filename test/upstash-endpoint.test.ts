/**
 * The local Upstash REST endpoint, driven by the real `@upstash/redis` client (and raw
 * `fetch` where the wire format itself is the point), on a real Redis and in memory.
 */
import { request as httpRequest } from 'node:http';
import { Redis } from '@upstash/redis';
import { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConfigError } from '../src/core/errors.ts';
import { startUpstashEndpoint, type UpstashEndpoint } from '../worker/dev/upstash-endpoint.ts';
import { startRedis, stopAllRedis } from './support/private-redis.ts';
import { freePort } from './support/services.ts';

const prefix = `t_upstash_${Math.random().toString(36).slice(2, 8)}`;
const token = `token-${prefix}`;

const modes = [
  { mode: 'real-redis', redisUrl: () => inject('redisUrl') as string | undefined },
  { mode: 'in-memory', redisUrl: () => undefined },
];

/** One request with any Host header (fetch always sends the URL's own). */
async function rawRequest(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  return await new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port, path, method: options.method ?? 'POST', headers: options.headers },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

function corsHeaders(headers: Headers): string[] {
  return [...headers.keys()].filter((name) => name.startsWith('access-control-'));
}

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.each(modes)('Upstash endpoint ($mode)', ({ mode, redisUrl }) => {
  let endpoint: UpstashEndpoint;
  let redis: Redis;
  let serial = 0;
  const key = (name: string) => `${prefix}:${mode}:${name}:${++serial}`;
  const raw = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${endpoint.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    endpoint = await startUpstashEndpoint({ token, redisUrl: redisUrl() });
    redis = new Redis({ url: endpoint.url, token, enableTelemetry: false });
  });
  afterAll(async () => {
    await endpoint?.close();
    const url = redisUrl();
    if (!url) return;
    // Leave nothing behind in the shared Redis.
    const admin = new IORedis(url);
    const keys = await admin.keys(`${prefix}:*`);
    if (keys.length > 0) await admin.del(...keys);
    admin.disconnect();
  });

  it('sets, gets, increments, expires and deletes keys', async () => {
    const [k, counter] = [key('string'), key('counter')];
    expect(await redis.set(k, 'value', { ex: 100 })).toBe('OK');
    expect(await redis.get(k)).toBe('value');
    expect(await redis.ttl(k)).toBeGreaterThan(90);
    expect(await redis.set(k, 'other', { nx: true })).toBeNull();
    expect(await redis.set(key('missing'), 'x', { xx: true })).toBeNull();
    expect(await redis.incr(counter)).toBe(1);
    expect(await redis.incrby(counter, 41)).toBe(42);
    expect(await redis.expire(counter, 50)).toBe(1);
    expect(await redis.ttl(counter)).toBeGreaterThan(40);
    expect(await redis.exists(k, counter, key('missing'))).toBe(2);
    expect(await redis.del(k, counter)).toBe(2);
    expect(await redis.get(k)).toBeNull();
    expect(await redis.ttl(k)).toBe(-2);
    const short = key('short');
    await redis.set(short, 'gone soon', { px: 50 });
    await waitFor(
      () => redis.get(short),
      (value) => value === null,
      'expired key',
    );
  });

  it('stores hashes and lists', async () => {
    const [hash, list] = [key('hash'), key('list')];
    expect(await redis.hset(hash, { name: 'ünïcode', count: 3 })).toBe(2);
    expect(await redis.hget(hash, 'name')).toBe('ünïcode');
    expect(await redis.hgetall(hash)).toEqual({ name: 'ünïcode', count: 3 });
    expect(await redis.hdel(hash, 'count')).toBe(1);
    expect(await redis.rpush(list, 'b', 'c')).toBe(2);
    expect(await redis.lpush(list, 'a')).toBe(3);
    expect(await redis.lrange(list, 0, -1)).toEqual(['a', 'b', 'c']);
    expect(await redis.lrange(list, -2, 10)).toEqual(['b', 'c']);
    expect(await redis.hincrby(list, 'x', 1).catch((e: Error) => e.message)).toMatch(/WRONGTYPE/);
  });

  it('runs a pipeline in order and reports each command’s error on its own', async () => {
    const k = key('pipeline');
    expect(await redis.pipeline().set(k, '1').incr(k).get(k).exec()).toEqual(['OK', 2, 2]);
    const response = await raw('/pipeline', [
      ['SET', k, 'text'],
      ['INCR', k],
      ['GET', k],
    ]);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([
      { result: 'OK' },
      { error: 'ERR value is not an integer or out of range' },
      { result: 'text' },
    ]);
  });

  it('runs transactions with multi(), and refuses one that aborts', async () => {
    const k = key('multi');
    expect(await redis.multi().set(k, 5).incrby(k, 2).get(k).exec()).toEqual(['OK', 7, 7]);
    const runtimeError = await raw('/multi-exec', [
      ['SET', k, 'text'],
      ['INCR', k],
    ]);
    expect(await runtimeError.json()).toEqual([
      { result: 'OK' },
      { error: 'ERR value is not an integer or out of range' },
    ]);
    const aborted = await raw('/multi-exec', [
      ['SET', k, 'never'],
      ['SET', k],
    ]);
    expect(aborted.status).toBe(400);
    expect(await aborted.json()).toEqual({ error: expect.stringMatching(/^EXECABORT/) });
    expect(await redis.get(k)).toBe('text');
  });

  it('serves auto-pipelined commands (the client default) in a few requests', async () => {
    const keys = Array.from({ length: 10 }, () => key('auto'));
    const counter = () => (redis as unknown as { pipelineCounter: number }).pipelineCounter;
    const before = counter();
    await Promise.all(keys.map((k, i) => redis.set(k, i)));
    const values = await Promise.all(keys.map((k) => redis.get(k)));
    expect(values).toEqual(keys.map((_, i) => i));
    expect(counter() - before).toBe(2);
  });

  it('encodes every string result in base64 when asked, and returns non-ASCII values intact', async () => {
    const k = key('unicode');
    const text = 'héllo, wörld — 你好 🎉 "quoted"';
    await redis.set(k, text);
    expect(await redis.get(k)).toBe(text);
    const base64 = { 'upstash-encoding': 'base64' };
    expect(await (await raw('/', ['GET', k], base64)).json()).toEqual({
      result: Buffer.from(text).toString('base64'),
    });
    expect(await (await raw('/', ['PING'], base64)).json()).toEqual({ result: 'UE9ORw==' });
    expect(await (await raw('/', ['SET', k, 'x'], base64)).json()).toEqual({ result: 'OK' });
    expect(await (await raw('/', ['ECHO', text])).json()).toEqual({ result: text });
    expect(
      await (
        await raw(
          '/pipeline',
          [
            ['INCR', key('n')],
            ['GET', k],
          ],
          base64,
        )
      ).json(),
    ).toEqual([{ result: 1 }, { result: 'eA==' }]);
  });

  it('surfaces command errors as errors (HTTP 400)', async () => {
    const k = key('error');
    await redis.set(k, 'not a number');
    await expect(redis.incr(k)).rejects.toThrow(/ERR value is not an integer/);
    // Not on the allowlist, like every command the endpoint does not know.
    await expect(redis.exec(['NOSUCHCOMMAND', 'x'])).rejects.toThrow(/not allowed/);
    const unknown = await raw('/', ['NOSUCHCOMMAND', 'x']);
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: expect.stringMatching(/^ERR command 'NOSUCHCOMMAND' is not allowed/),
    });
    const select = await raw('/', ['SELECT', '1']);
    expect(select.status).toBe(400);
    const garbage = await raw('/', { not: 'a command' });
    expect(garbage.status).toBe(400);
  });

  it('answers 401 to a missing or wrong token', async () => {
    const intruder = new Redis({ url: endpoint.url, token: 'wrong', enableTelemetry: false });
    await expect(intruder.get(key('secret'))).rejects.toThrow(/Unauthorized/);
    expect((await raw('/', ['PING'], { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await raw('/', ['PING'], { authorization: '' })).status).toBe(401);
    expect((await raw('/', ['PING'], { authorization: `Bearer ${token}x` })).status).toBe(401);
  });

  it('will not start without a token, and exposes the one it has', async () => {
    await expect(startUpstashEndpoint({ token: '' })).rejects.toThrow(ConfigError);
    expect(endpoint.token).toBe(token);
  });

  it('refuses a cross-site simple POST (text/plain, foreign Origin) without running it, token or not', async () => {
    const k = key('cross-site');
    const crossSite: Record<string, string>[] = [
      { origin: 'http://evil.example' },
      { origin: 'http://evil.example', authorization: `Bearer ${token}` },
      { origin: 'null', authorization: `Bearer ${token}` },
      { 'sec-fetch-site': 'cross-site', authorization: `Bearer ${token}` },
      { 'sec-fetch-site': 'same-site', authorization: `Bearer ${token}` },
    ];
    for (const headers of crossSite) {
      for (const [path, body] of [
        ['/', ['SET', k, 'pwned']],
        ['/pipeline', [['SET', k, 'pwned']]],
        ['/multi-exec', [['SET', k, 'pwned']]],
        [`/subscribe/${k}`, []],
      ] as const) {
        const response = await fetch(`${endpoint.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain', ...headers },
          body: JSON.stringify(body),
        });
        expect({ headers, path, status: response.status }).toEqual({ headers, path, status: 403 });
        expect(corsHeaders(response.headers)).toEqual([]);
        expect(await response.json()).toEqual({ error: expect.stringMatching(/origin|site/i) });
      }
    }
    expect(await redis.get(k)).toBeNull();
  });

  it('refuses a CORS preflight from an origin not allowed, with no CORS headers', async () => {
    const response = await fetch(`${endpoint.url}/pipeline`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(response.status).toBe(403);
    expect(corsHeaders(response.headers)).toEqual([]);
  });

  it('refuses a Host that is not a loopback name (DNS rebinding)', async () => {
    const k = key('rebound');
    for (const host of [
      `evil.example:${endpoint.port}`,
      'evil.example',
      `localhost.evil.example:${endpoint.port}`,
    ]) {
      const response = await rawRequest(endpoint.port, '/', {
        headers: { host, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(['SET', k, 'pwned']),
      });
      expect({ host, status: response.status }).toEqual({ host, status: 421 });
      expect(JSON.parse(response.body)).toEqual({ error: expect.stringContaining('Host') });
    }
    expect(await redis.get(k)).toBeNull();
    const ok = await rawRequest(endpoint.port, '/', {
      headers: { host: `localhost:${endpoint.port}`, authorization: `Bearer ${token}` },
      body: JSON.stringify(['SET', k, 'fine']),
    });
    expect(ok.status).toBe(200);
    expect(await redis.get(k)).toBe('fine');
  });

  it('serves an origin listed in allowedOrigins and a host listed in allowedHosts', async () => {
    const origin = 'http://localhost:3000';
    const own = await startUpstashEndpoint({
      token,
      redisUrl: redisUrl(),
      allowedOrigins: [origin],
      allowedHosts: ['devbox.lan'],
    });
    try {
      const preflight = await fetch(`${own.url}/pipeline`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,upstash-encoding',
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
      const k = key('allowed-origin');
      const allowed = await fetch(`${own.url}/`, {
        method: 'POST',
        headers: { origin, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(['SET', k, 'from the allowed origin']),
      });
      expect(allowed.status).toBe(200);
      expect(allowed.headers.get('access-control-allow-origin')).toBe(origin);
      const other = await fetch(`${own.url}/`, {
        method: 'POST',
        headers: { origin: 'http://localhost:3001', authorization: `Bearer ${token}` },
        body: JSON.stringify(['SET', k, 'other origin']),
      });
      expect(other.status).toBe(403);
      // Its own client: in memory, this endpoint has a keyspace of its own.
      const ownClient = new Redis({ url: own.url, token, enableTelemetry: false });
      expect(await ownClient.get(k)).toBe('from the allowed origin');
      const lan = await rawRequest(own.port, '/', {
        headers: { host: `devbox.lan:${own.port}`, authorization: `Bearer ${token}` },
        body: JSON.stringify(['PING']),
      });
      expect(lan.status).toBe(200);
    } finally {
      await own.close();
    }
  });

  it('delivers published messages to redis.subscribe() and psubscribe() listeners', async () => {
    const channel = key('channel');
    const subscriber = redis.subscribe<unknown>(channel);
    const patterned = redis.psubscribe<unknown>(`${prefix}:${mode}:channel:*`);
    await Promise.all([
      new Promise((resolve) => subscriber.on('subscribe', resolve)),
      new Promise((resolve) => patterned.on('psubscribe', resolve)),
    ]);
    const message = new Promise((resolve) => subscriber.on('message', resolve));
    const pmessage = new Promise((resolve) => patterned.on('pmessage', resolve));
    expect(await redis.publish(channel, JSON.stringify({ a: 'b, "c"', d: 'ü' }))).toBe(2);
    expect(await message).toEqual({ channel, message: { a: 'b, "c"', d: 'ü' } });
    expect(await pmessage).toEqual({
      pattern: `${prefix}:${mode}:channel:*`,
      channel,
      message: { a: 'b, "c"', d: 'ü' },
    });
    await subscriber.unsubscribe();
    await patterned.unsubscribe();
  });

  it('ends the server-side subscription when the client unsubscribes', async () => {
    const channel = key('numsub');
    const numsub = async () => ((await redis.exec(['PUBSUB', 'NUMSUB', channel])) as [string, number])[1];
    const subscriber = redis.subscribe(channel);
    await new Promise((resolve) => subscriber.on('subscribe', resolve));
    expect(await numsub()).toBe(1);
    await subscriber.unsubscribe();
    await waitFor(numsub, (count) => count === 0, 'PUBSUB NUMSUB after unsubscribe');
    expect(await redis.publish(channel, 'nobody')).toBe(0);
  });

  it('closes promptly, ending open event streams', async () => {
    const own = await startUpstashEndpoint({ token, redisUrl: redisUrl() });
    const client = new Redis({ url: own.url, token, enableTelemetry: false });
    const subscriber = client.subscribe(key('closing'));
    await new Promise((resolve) => subscriber.on('subscribe', resolve));
    const started = performance.now();
    await own.close();
    expect(performance.now() - started).toBeLessThan(1000);
    await expect(fetch(own.url, { method: 'POST', body: '["PING"]' })).rejects.toThrow();
    await subscriber.unsubscribe();
  });
});

/**
 * Administrative commands through the endpoint. The real-Redis case runs on a private
 * redis-server: should a refusal ever regress, FLUSHALL or SHUTDOWN must not reach the shared one.
 */
describe.each([
  { mode: 'private redis-server', privateRedis: true },
  { mode: 'in-memory', privateRedis: false },
])('Upstash endpoint refuses administrative commands ($mode)', ({ privateRedis }) => {
  let endpoint: UpstashEndpoint;
  let redis: Redis;
  let direct: IORedis | undefined;
  const sentinel = `${prefix}:sentinel`;
  const raw = (path: string, body: unknown) =>
    fetch(`${endpoint.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const refusal = (name: string) => ({
    error: expect.stringMatching(new RegExp(`^ERR command '${name}' is not allowed`, 'i')) as unknown,
  });

  beforeAll(async () => {
    let redisUrl: string | undefined;
    if (privateRedis) {
      const port = await freePort();
      await startRedis(port);
      redisUrl = `redis://127.0.0.1:${port}`;
      direct = new IORedis(redisUrl);
    }
    endpoint = await startUpstashEndpoint({ token, redisUrl });
    redis = new Redis({ url: endpoint.url, token, enableTelemetry: false });
  });
  afterAll(async () => {
    await endpoint?.close();
    direct?.disconnect();
    await stopAllRedis();
  });

  const administrative: string[][] = [
    ['FLUSHALL'],
    ['flushall', 'ASYNC'],
    ['FlushDb'],
    ['CONFIG', 'GET', '*'],
    ['CONFIG', 'SET', 'maxmemory', '1234567'],
    ['EVAL', "return redis.call('FLUSHALL')", '0'],
    ['EVAL_RO', 'return 1', '0'],
    ['EVALSHA', 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db', '0'],
    ['SCRIPT', 'LOAD', 'return 1'],
    ['FUNCTION', 'LIST'],
    ['FCALL', 'f', '0'],
    ['SHUTDOWN', 'NOSAVE'],
    ['DEBUG', 'SLEEP', '0'],
    ['MODULE', 'LIST'],
    ['ACL', 'WHOAMI'],
    ['CLIENT', 'LIST'],
    ['SAVE'],
    ['BGSAVE'],
    ['BGREWRITEAOF'],
    ['REPLICAOF', '127.0.0.1', '1'],
    ['SLAVEOF', '127.0.0.1', '1'],
    ['MIGRATE', '127.0.0.1', '1', sentinel, '0', '1000'],
    ['MONITOR'],
    ['SYNC'],
    ['PSYNC', '?', '-1'],
    ['SELECT', '1'],
    ['SWAPDB', '0', '1'],
    ['MOVE', sentinel, '1'],
    ['COPY', sentinel, `${sentinel}:copy`, 'DB', '1'],
    ['LATENCY', 'RESET'],
    ['MEMORY', 'USAGE', sentinel],
    ['INFO'],
    ['OBJECT', 'ENCODING', sentinel],
    ['DUMP', sentinel],
    ['RESTORE', `${sentinel}:restored`, '0', 'x'],
    ['BLPOP', sentinel, '1'],
    ['XREAD', 'BLOCK', '1000', 'STREAMS', sentinel, '$'],
  ];

  it.each(administrative.map((command) => [command.join(' '), command] as const))(
    'refuses %s with Upstash’s error shape, running nothing',
    async (_, command) => {
      await redis.set(sentinel, 'still here');
      const response = await raw('/', command);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual(refusal(command[0]!));
      expect(await redis.get(sentinel)).toBe('still here');
      if (direct) {
        expect(await direct.ping()).toBe('PONG');
        expect(await direct.config('GET', 'maxmemory')).toEqual(['maxmemory', '0']);
        expect(await direct.exists(`${sentinel}:copy`, `${sentinel}:restored`)).toBe(0);
      }
    },
  );

  it('refuses them through the real client, which reports the error', async () => {
    await redis.set(sentinel, 'still here');
    await expect(redis.flushall()).rejects.toThrow(/ERR command 'flushall' is not allowed/i);
    await expect(redis.flushdb()).rejects.toThrow(/not allowed/);
    await expect(redis.eval("return redis.call('FLUSHALL')", [], [])).rejects.toThrow(/not allowed/);
    await expect(redis.scriptLoad('return 1')).rejects.toThrow(/not allowed/);
    expect(await redis.get(sentinel)).toBe('still here');
  });

  it.each(['/pipeline', '/multi-exec'])(
    'refuses a whole %s holding one refused command, before running any of it',
    async (path) => {
      await redis.set(sentinel, 'still here');
      const [before, after] = [`${prefix}:${path}:before`, `${prefix}:${path}:after`];
      const response = await raw(path, [['SET', before, 'written'], ['FLUSHALL'], ['SET', after, 'written']]);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual(refusal('FLUSHALL'));
      const viaClient = path === '/pipeline' ? redis.pipeline() : redis.multi();
      await expect(viaClient.set(before, 'written').flushall().exec()).rejects.toThrow(/not allowed/);
      expect(await redis.mget(before, after, sentinel)).toEqual([null, null, 'still here']);
    },
  );

  it('still runs data commands, COPY without DB, and pub/sub', async () => {
    const k = (name: string) => `${prefix}:allowed:${name}`;
    expect(await redis.set(k('s'), 'v')).toBe('OK');
    expect(await redis.exists(k('s'))).toBe(1);
    expect(await redis.keys(`${prefix}:allowed:*`)).toEqual([k('s')]);
    expect(await redis.dbsize()).toBeGreaterThan(0);
    expect(await redis.echo('hi')).toBe('hi');
    expect(await redis.ping()).toBe('PONG');
    expect(await redis.publish(k('channel'), 'nobody listens')).toBe(0);
    if (privateRedis) {
      expect(await redis.copy(k('s'), k('copy'))).toBe('COPIED');
      expect(await redis.sadd(k('set'), 'a', 'b')).toBe(2);
      expect((await redis.smembers(k('set'))).sort()).toEqual(['a', 'b']);
      expect(await redis.zadd(k('zset'), { score: 1, member: 'one' })).toBe(1);
      expect(await redis.zrange(k('zset'), 0, -1)).toEqual(['one']);
      expect((await redis.time()).length).toBe(2);
      const [, scanned] = await redis.scan(0, { match: `${prefix}:allowed:*`, count: 100 });
      expect(scanned.length).toBeGreaterThanOrEqual(4);
      expect(await redis.getdel(k('copy'))).toBe('v');
    }
    const subscriber = redis.subscribe<string>(k('channel'));
    await new Promise((resolve) => subscriber.on('subscribe', resolve));
    const message = new Promise((resolve) => subscriber.on('message', resolve));
    expect(await redis.publish(k('channel'), 'hello')).toBe(1);
    expect(await message).toEqual({ channel: k('channel'), message: 'hello' });
    await subscriber.unsubscribe();
  });
});

/**
 * The local Upstash REST endpoint, driven by the real `@upstash/redis` client (and raw
 * `fetch` where the wire format itself is the point), on a real Redis and in memory.
 */
import { Redis } from '@upstash/redis';
import { Redis as IORedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startUpstashEndpoint, type UpstashEndpoint } from '../src/node/upstash-endpoint.ts';

const prefix = `t_upstash_${Math.random().toString(36).slice(2, 8)}`;
const token = `token-${prefix}`;

const modes = [
  { mode: 'real-redis', redisUrl: () => inject('redisUrl') as string | undefined },
  { mode: 'in-memory', redisUrl: () => undefined },
];

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
    await expect(redis.exec(['NOSUCHCOMMAND', 'x'])).rejects.toThrow(/unknown command/);
    const unknown = await raw('/', ['NOSUCHCOMMAND', 'x']);
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: expect.stringMatching(/^ERR unknown command 'NOSUCHCOMMAND'/),
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

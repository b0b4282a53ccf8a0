/**
 * The Redis TCP notifier beyond the conformance suite: URL handling, TLS with a password, and
 * what happens when Redis goes away. Uses private redis-server processes (never the shared
 * one), so they can be stopped and restarted.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis as IORedis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.ts';
import type { NotifierStatus } from '../src/core/notifier.ts';
import { redisConnectionOptions } from '../src/adapters/node/redis-connection-options.ts';
import { createRedisNotifier } from '../src/adapters/node/redis-notifier.ts';
import { startRedis, stopAllRedis, stopProcess } from './support/private-redis.ts';
import { freePort } from './support/services.ts';
import { inbox } from './support/inbox.ts';

const channel = `t_notif_redis_${Math.random().toString(36).slice(2, 8)}`;
const fast = { initialDelayMs: 50, maxDelayMs: 300 };

afterAll(stopAllRedis);

/** A notifier on the private Redis at `port`, subscribed to `channel`, with its statuses and messages. */
async function subscribedNotifier(port: number, options: { heartbeatMs?: number } = {}) {
  const notifier = createRedisNotifier({
    url: `redis://127.0.0.1:${port}`,
    ...options,
    retry: fast,
    onError: () => undefined,
  });
  const status = statusLog();
  const box = inbox();
  await notifier.subscribe(channel, box.onMessage, { onStatus: status.onStatus });
  return { notifier, status, box };
}

/** Rejects when `promise` takes more than 10 s, naming what was awaited. */
async function deadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within 10 s`)), 10_000);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Records statuses; `until(status)` resolves when it has been reported. */
function statusLog() {
  const seen: NotifierStatus[] = [];
  const waiters: Array<{ status: NotifierStatus; resolve: () => void }> = [];
  return {
    seen,
    onStatus(status: NotifierStatus) {
      seen.push(status);
      for (const waiter of waiters.filter((w) => w.status === status)) waiter.resolve();
    },
    until(status: NotifierStatus): Promise<void> {
      if (seen.includes(status)) return Promise.resolve();
      return deadline(
        new Promise((resolve) => waiters.push({ status, resolve })),
        `status ${status} (saw ${seen})`,
      );
    },
  };
}

/** Publishes until one succeeds: the publisher reconnects on its own schedule after an outage. */
async function publishWhenBack(publish: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await publish();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('Redis connection options', () => {
  it('reads host, port, database, user and password from a redis:// URL', () => {
    expect(redisConnectionOptions({ url: 'redis://worker:s%40cret@cache.internal:6380/3' })).toEqual({
      host: 'cache.internal',
      port: 6380,
      db: 3,
      username: 'worker',
      password: 's@cret',
    });
    expect(redisConnectionOptions({ url: 'redis://127.0.0.1' })).toEqual({
      host: '127.0.0.1',
      port: 6379,
      db: 0,
    });
  });

  it('lets an explicit password win over the URL', () => {
    expect(redisConnectionOptions({ url: 'redis://:old@h:1', password: 'new' })).toMatchObject({
      password: 'new',
    });
    expect(redisConnectionOptions({ url: 'redis://h:1', password: 'only' })).toMatchObject({
      password: 'only',
    });
  });

  it('turns TLS on for rediss://, and lets the tls option decide', () => {
    expect(redisConnectionOptions({ url: 'rediss://default:t@eu1.upstash.io:6379' })).toMatchObject({
      tls: {},
    });
    expect(redisConnectionOptions({ url: 'redis://h', tls: true })).toMatchObject({ tls: {} });
    expect(redisConnectionOptions({ url: 'rediss://h', tls: false })).not.toHaveProperty('tls');
    expect(redisConnectionOptions({ url: 'rediss://h', tls: { servername: 'x' } })).toMatchObject({
      tls: { servername: 'x' },
    });
    expect(redisConnectionOptions({ url: 'redis://h' })).not.toHaveProperty('tls');
  });

  it('refuses URLs that are not redis:// or rediss:// with a ConfigError that hides the password', () => {
    for (const url of ['http://h:6379', 'not a url', 'redis://h/notadb']) {
      expect(() => redisConnectionOptions({ url })).toThrow(ConfigError);
    }
    expect(() => redisConnectionOptions({ url: 'https://u:hunter2@h' })).toThrow(/u:\*\*\*@h/);
  });
});

describe('Redis notifier on a private redis-server', () => {
  it('publishes and subscribes over TLS with a password (rediss://)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'etw-redis-tls-'));
    try {
      const port = await freePort();
      const cert = join(dir, 'cert.pem');
      const key = join(dir, 'key.pem');
      const openssl = spawn('openssl', [
        ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'],
        ...['-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert],
      ]);
      expect((await once(openssl, 'exit'))[0]).toBe(0);
      await startRedis(port, [
        ...['--port', '0', '--tls-port', String(port), '--tls-cert-file', cert, '--tls-key-file', key],
        ...['--tls-ca-cert-file', cert, '--tls-auth-clients', 'no', '--requirepass', 'p@ss word'],
      ]);
      const notifier = createRedisNotifier({
        url: `rediss://127.0.0.1:${port}`,
        password: 'p@ss word',
        tls: { ca: await readFile(cert) },
        onError: () => undefined,
      });
      const box = inbox();
      await notifier.subscribe(channel, box.onMessage);
      await notifier.publish(channel, 'over tls');
      expect(await box.until(1)).toEqual(['over tls']);
      await notifier.close();

      const wrong = createRedisNotifier({
        url: `rediss://:wrong@127.0.0.1:${port}`,
        tls: { ca: await readFile(cert) },
        onError: () => undefined,
      });
      await expect(wrong.publish(channel, 'x')).rejects.toMatchObject({ code: 'PUBLISH_FAILED' });
      await wrong.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('resubscribes after Redis restarts, reporting disconnected then connected', async () => {
    const port = await freePort();
    let server = await startRedis(port);
    const { notifier, status, box } = await subscribedNotifier(port);
    await notifier.publish(channel, 'before restart');
    expect(await box.until(1)).toEqual(['before restart']);

    await stopProcess(server);
    await status.until('disconnected');
    server = await startRedis(port);
    await status.until('connected');
    await publishWhenBack(() => notifier.publish(channel, 'after restart'));
    expect(await box.until(2)).toEqual(['before restart', 'after restart']);
    expect(status.seen).toEqual(['disconnected', 'connected']);

    const admin = new IORedis({ port });
    const clients = String(await admin.call('CLIENT', 'LIST')).split('\n');
    admin.disconnect();
    expect(clients.filter((line) => line.includes(' name=edge-task-worker:subscribe '))).toHaveLength(1);
    await notifier.close();
    await stopProcess(server);
  });

  it('pings a quiet subscriber connection, and reconnects when Redis stops answering', async () => {
    const port = await freePort();
    const server = await startRedis(port);
    const admin = new IORedis({ port });
    const pings = async () =>
      Number(/cmdstat_ping:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    const { notifier, status, box } = await subscribedNotifier(port, { heartbeatMs: 400 });
    const deadline = Date.now() + 10_000;
    while ((await pings()) < 2) {
      if (Date.now() > deadline) throw new Error('the subscriber connection was never pinged');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status.seen).toEqual([]);

    // A paused Redis keeps its sockets open but answers nothing, like a peer that vanished.
    await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
    await status.until('disconnected');
    await status.until('connected');
    expect(status.seen).toEqual(['disconnected', 'connected']);
    await publishWhenBack(() => notifier.publish(channel, 'after pause'));
    expect(await box.until(1)).toEqual(['after pause']);
    admin.disconnect();
    await notifier.close();
    await stopProcess(server);
  });

  it('rejects publish within 2 s while Redis is down, and never replays it later', async () => {
    const port = await freePort();
    let server = await startRedis(port);
    const { notifier, status, box } = await subscribedNotifier(port);
    await notifier.publish(channel, 'warm-up');
    await box.until(1);
    await stopProcess(server);

    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const error = await notifier.publish(channel, `during outage ${i}`).catch((e: unknown) => e);
      expect(performance.now() - started).toBeLessThan(2000);
      expect(error).toMatchObject({ code: 'PUBLISH_FAILED', channel });
    }

    server = await startRedis(port);
    // Only a subscriber that is back gets anything: messages sent before are gone, by design.
    await status.until('connected');
    await publishWhenBack(() => notifier.publish(channel, 'sentinel'));
    expect(await box.until(2)).toEqual(['warm-up', 'sentinel']);
    await notifier.close();
    await stopProcess(server);
  });

  it('resolves subscribe while Redis is down, then connects once Redis starts', async () => {
    const port = await freePort();
    const { notifier, status, box } = await subscribedNotifier(port);
    expect(status.seen).toEqual(['disconnected']);
    const started = performance.now();
    await expect(notifier.publish(channel, 'nobody')).rejects.toMatchObject({ code: 'PUBLISH_FAILED' });
    expect(performance.now() - started).toBeLessThan(2000);

    const server = await startRedis(port);
    await status.until('connected');
    await publishWhenBack(() => notifier.publish(channel, 'finally'));
    expect(await box.until(1)).toEqual(['finally']);
    expect(status.seen).toEqual(['disconnected', 'connected']);
    await notifier.close();
    await stopProcess(server);
  });
});

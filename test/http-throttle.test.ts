/**
 * Back-off for failed credentials: the throttle's timing on an injected clock, then through the
 * app (bearer token and dashboard login share one budget per client), how a client is told
 * apart (socket address on Node, `cf-connecting-ip` on Cloudflare, `X-Forwarded-For` only with
 * `trustProxy`), and over a real @hono/node-server socket.
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { createApp, createAuthThrottle, type AppOptions } from '../src/http/index.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('http_throttle');
const TOKEN = 'throttle-token-8d2b';
const SECOND = 1000;

describe('createAuthThrottle', () => {
  let clock: number;
  const now = (): number => clock;
  beforeEach(() => {
    clock = 1_700_000_000_000;
  });

  it('locks a client out after maxFailures failures, for lockoutSeconds', () => {
    const throttle = createAuthThrottle({ maxFailures: 3, lockoutSeconds: 2, now });
    expect(throttle.recordFailure('a')).toBe(0);
    expect(throttle.recordFailure('a')).toBe(0);
    expect(throttle.lockedFor('a')).toBe(0);
    expect(throttle.recordFailure('a')).toBe(2 * SECOND);
    expect(throttle.lockedFor('a')).toBe(2 * SECOND);
    clock += 1500;
    expect(throttle.lockedFor('a')).toBe(500);
    expect(throttle.lockedFor('b')).toBe(0);
    clock += 500;
    expect(throttle.lockedFor('a')).toBe(0);
  });

  it('doubles the lockout with every further failure, up to maxLockoutSeconds', () => {
    const throttle = createAuthThrottle({ maxFailures: 2, lockoutSeconds: 1, maxLockoutSeconds: 10, now });
    throttle.recordFailure('a');
    const lockouts: number[] = [];
    for (let i = 0; i < 6; i++) {
      const lockout = throttle.recordFailure('a');
      lockouts.push(lockout);
      clock += lockout;
    }
    expect(lockouts).toEqual([1, 2, 4, 8, 10, 10].map((s) => s * SECOND));
  });

  it('forgets the failures after a success', () => {
    const throttle = createAuthThrottle({ maxFailures: 2, now });
    throttle.recordFailure('a');
    throttle.recordSuccess('a');
    expect(throttle.recordFailure('a')).toBe(0);
    expect(throttle.size).toBe(1);
    throttle.recordSuccess('a');
    expect(throttle.size).toBe(0);
  });

  it('forgets the failures after windowSeconds without one, counted from the end of a lockout', () => {
    const throttle = createAuthThrottle({ maxFailures: 2, windowSeconds: 60, lockoutSeconds: 30, now });
    throttle.recordFailure('a');
    clock += 60 * SECOND;
    expect(throttle.recordFailure('a')).toBe(0);
    expect(throttle.recordFailure('a')).toBe(30 * SECOND);
    // The lockout ends at +30 s; the window runs from there: at +89 s the count still stands.
    clock += 89 * SECOND;
    expect(throttle.recordFailure('a')).toBe(60 * SECOND);
    clock += (60 + 60) * SECOND;
    expect(throttle.recordFailure('a')).toBe(0);
  });

  it('keeps at most maxClients clients, dropping the least recently seen', () => {
    const throttle = createAuthThrottle({ maxFailures: 1, maxClients: 3, now });
    for (const client of ['a', 'b', 'c']) throttle.recordFailure(client);
    expect(throttle.lockedFor('a')).toBeGreaterThan(0);
    // 'a' was seen last (lockedFor counts as seen), so 'b' goes first.
    throttle.recordFailure('d');
    expect(throttle.size).toBe(3);
    expect(throttle.lockedFor('b')).toBe(0);
    expect(throttle.lockedFor('a')).toBeGreaterThan(0);
    for (let i = 0; i < 1000; i++) throttle.recordFailure(`flood-${i}`);
    expect(throttle.size).toBe(3);
  });

  it('refuses options out of range', () => {
    expect(() => createAuthThrottle({ maxFailures: 0 })).toThrow(/maxFailures/);
    expect(() => createAuthThrottle({ lockoutSeconds: -1 })).toThrow(/lockoutSeconds/);
    expect(() => createAuthThrottle({ maxLockoutSeconds: 0.5, lockoutSeconds: 1 })).toThrow(
      /maxLockoutSeconds/,
    );
    expect(() => createAuthThrottle({ maxClients: 0 })).toThrow(/maxClients/);
  });
});

describe('through the app', () => {
  let clock: number;
  let app: Hono;
  const node = (address: string) => ({ incoming: { socket: { remoteAddress: address } } });

  function build(options: Partial<AppOptions> = {}): Hono {
    return createApp({
      database: t.db,
      schema: t.schema,
      apiToken: TOKEN,
      authThrottle: { now: () => clock },
      ...options,
    });
  }

  beforeEach(() => {
    clock = 1_700_000_000_000;
    app = build();
  });

  function bearer(
    token: string,
    env: object = node('203.0.113.7'),
    on = app,
    headers = {},
  ): Promise<Response> {
    return Promise.resolve(
      on.request('/stats', { headers: { Authorization: `Bearer ${token}`, ...headers } }, env),
    );
  }

  function login(token: string, env: object = node('203.0.113.7')): Promise<Response> {
    return Promise.resolve(
      app.request(
        '/dashboard/login',
        {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token }).toString(),
        },
        env,
      ),
    );
  }

  it('answers 429 with Retry-After after 5 wrong tokens, refuses the right one until then, and resets on success', async () => {
    for (let i = 0; i < 5; i++) expect((await bearer('wrong')).status).toBe(401);
    const locked = await bearer('wrong');
    expect(locked.status).toBe(429);
    expect(locked.headers.get('Retry-After')).toBe('1');
    expect(((await locked.json()) as { error: { code: string } }).error.code).toBe('TOO_MANY_ATTEMPTS');
    // The right token does not end a lockout early.
    expect((await bearer(TOKEN)).status).toBe(429);
    // Another client is not affected.
    expect((await bearer(TOKEN, node('198.51.100.2'))).status).toBe(200);
    clock += SECOND;
    expect((await bearer(TOKEN)).status).toBe(200);
    // The success reset the count: five more tries before the next lockout.
    for (let i = 0; i < 5; i++) expect((await bearer('wrong')).status).toBe(401);
    expect((await bearer('wrong')).status).toBe(429);
  });

  it('doubles the lockout for each failure after it, capped at 15 minutes', async () => {
    for (let i = 0; i < 4; i++) await bearer('wrong');
    const retryAfters: string[] = [];
    for (let i = 0; i < 14; i++) {
      expect((await bearer('wrong')).status).toBe(401);
      const locked = await bearer(TOKEN);
      retryAfters.push(locked.headers.get('Retry-After') as string);
      clock += Number(locked.headers.get('Retry-After')) * SECOND;
    }
    expect(retryAfters.map(Number)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900]);
  });

  it('locks out 150 wrong dashboard logins in a row after the fifth, and the right token with them', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 150; i++) {
      const answer = await login(`guess-${i}`);
      statuses.push(answer.status);
      if (answer.status === 429) {
        expect(answer.headers.get('Retry-After')).toBe('1');
        expect(await answer.text()).toContain('Too many failed attempts');
      }
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5).every((status) => status === 429)).toBe(true);
    const refused = await login(TOKEN);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('Set-Cookie')).toBeNull();
    clock += SECOND;
    const accepted = await login(TOKEN);
    expect(accepted.status).toBe(303);
    expect(accepted.headers.get('Set-Cookie')).toContain('etw_dashboard=');
  });

  it('counts dashboard logins and bearer tokens in one budget per client', async () => {
    for (let i = 0; i < 3; i++) expect((await login('wrong')).status).toBe(401);
    for (let i = 0; i < 2; i++) expect((await bearer('wrong')).status).toBe(401);
    expect((await login(TOKEN)).status).toBe(429);
    // The dashboard's own bearer check too.
    const dashboard = await app.request(
      '/dashboard',
      { headers: { Authorization: `Bearer ${TOKEN}` } },
      node('203.0.113.7'),
    );
    expect(dashboard.status).toBe(429);
  });

  it('does not count requests without credentials', async () => {
    for (let i = 0; i < 10; i++) {
      expect((await app.request('/stats', {}, node('203.0.113.7'))).status).toBe(401);
    }
    expect((await bearer(TOKEN)).status).toBe(200);
  });

  it('ignores X-Forwarded-For and cf-connecting-ip on Node unless told to trust them', async () => {
    for (let i = 0; i < 6; i++) {
      await bearer('wrong', node('203.0.113.7'), app, {
        'X-Forwarded-For': `192.0.2.${i}`,
        'CF-Connecting-IP': `192.0.2.${i}`,
      });
    }
    expect((await bearer(TOKEN, node('203.0.113.7'), app, { 'X-Forwarded-For': '192.0.2.99' })).status).toBe(
      429,
    );
  });

  it('with trustProxy, keys on the address the proxy appended to X-Forwarded-For', async () => {
    const proxied = build({ trustProxy: true });
    const via = (chain: string) => ({ 'X-Forwarded-For': chain });
    for (let i = 0; i < 5; i++) {
      // A client can prepend what it likes; the proxy's own entry (the last) stays the same.
      await bearer('wrong', node('10.0.0.1'), proxied, via(`192.0.2.${i}, 198.51.100.9`));
    }
    expect((await bearer(TOKEN, node('10.0.0.1'), proxied, via('198.51.100.9'))).status).toBe(429);
    // Other clients behind the same proxy are not.
    expect((await bearer(TOKEN, node('10.0.0.1'), proxied, via('198.51.100.10'))).status).toBe(200);
  });

  it('keys IPv6 clients by their /64, so rotating addresses inside it does not escape', async () => {
    for (let i = 0; i < 5; i++) await bearer('wrong', node(`2001:db8:1:2::${i + 1}`));
    expect((await bearer(TOKEN, node('2001:db8:1:2:ffff:0:0:1'))).status).toBe(429);
    expect((await bearer(TOKEN, node('2001:db8:1:3::1'))).status).toBe(200);
    // An IPv4 client seen through an IPv6 socket is the IPv4 client.
    for (let i = 0; i < 5; i++) await bearer('wrong', node('::ffff:203.0.113.50'));
    expect((await bearer(TOKEN, node('203.0.113.50'))).status).toBe(429);
  });

  it('keys Cloudflare requests (request.cf) by cf-connecting-ip', async () => {
    const cloudflare = (ip: string, token: string): Promise<Response> => {
      const request = new Request('https://worker.example/stats', {
        headers: { Authorization: `Bearer ${token}`, 'CF-Connecting-IP': ip },
      });
      Object.defineProperty(request, 'cf', { value: { colo: 'AMS' } });
      return Promise.resolve(app.fetch(request));
    };
    for (let i = 0; i < 5; i++) expect((await cloudflare('192.0.2.1', 'wrong')).status).toBe(401);
    expect((await cloudflare('192.0.2.1', TOKEN)).status).toBe(429);
    expect((await cloudflare('192.0.2.2', TOKEN)).status).toBe(200);
  });

  it('can be turned off, and shared between apps (a Worker building one app per request)', async () => {
    const off = build({ authThrottle: false });
    for (let i = 0; i < 20; i++) await bearer('wrong', node('203.0.113.7'), off);
    expect((await bearer(TOKEN, node('203.0.113.7'), off)).status).toBe(200);
    const shared = createAuthThrottle({ now: () => clock });
    for (let i = 0; i < 5; i++) await bearer('wrong', node('203.0.113.7'), build({ authThrottle: shared }));
    expect((await bearer(TOKEN, node('203.0.113.7'), build({ authThrottle: shared }))).status).toBe(429);
  });
});

describe('over a real Node server', () => {
  let server: ServerType;
  let base: string;
  beforeAll(async () => {
    const app = createApp({ database: t.db, schema: t.schema, apiToken: TOKEN });
    await new Promise<void>((listening) => {
      server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => listening());
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((closed) => server.close(() => closed()));
  });

  it('keys on the socket address, whatever headers the client sends', async () => {
    for (let i = 0; i < 5; i++) {
      const answer = await fetch(`${base}/stats`, {
        headers: {
          Authorization: 'Bearer wrong',
          'X-Forwarded-For': `192.0.2.${i}`,
          'CF-Connecting-IP': `192.0.2.${i}`,
        },
      });
      expect(answer.status).toBe(401);
    }
    const locked = await fetch(`${base}/stats`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1);
  });
});

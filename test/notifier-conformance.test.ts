/**
 * One suite, every Notifier, real services: Upstash REST (the real `@upstash/redis` client
 * through the local endpoint on the test Redis), Redis TCP, Postgres LISTEN/NOTIFY, memory,
 * and none, whose documented behaviour is to deliver nothing.
 */
import { Redis as IORedis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Notifier } from '../src/core/notifier.ts';
import { createMemoryNotifier } from '../src/adapters/edge/memory-notifier.ts';
import { createNoneNotifier } from '../src/adapters/edge/none-notifier.ts';
import { NotifierError } from '../src/core/notifier-error.ts';
import { createUpstashNotifier } from '../src/adapters/edge/upstash-notifier.ts';
import { createPostgresNotifier } from '../src/adapters/node/postgres-notifier.ts';
import { createRedisNotifier } from '../src/adapters/node/redis-notifier.ts';
import { startUpstashEndpoint } from '../worker/dev/upstash-endpoint.ts';
import { inbox } from './support/inbox.ts';

const prefix = `t_notif_${Math.random().toString(36).slice(2, 8)}`;
const errors: unknown[] = [];
const onError = (error: unknown) => errors.push(error);

/** A transport under test, with a way to see what it still holds on the server. */
interface Harness {
  open(): Notifier;
  /** Connections or subscriptions `notifier` still holds on the server, or undefined when unobservable. */
  held(id: number, channels: string[]): Promise<number | undefined>;
  stop(): Promise<void>;
}

interface NotifierCase {
  name: string;
  /** `none` delivers nothing, by design. */
  delivers: boolean;
  /** Distinct notifier instances share the transport (not true of separate memory notifiers). */
  shared: boolean;
  start(): Promise<Harness>;
}

let opened = 0;

async function clientList(redisUrl: string): Promise<string[]> {
  const admin = new IORedis(redisUrl, { lazyConnect: true });
  try {
    await admin.connect();
    return String(await admin.call('CLIENT', 'LIST')).split('\n');
  } finally {
    admin.disconnect();
  }
}

const cases: NotifierCase[] = [
  {
    name: 'upstash-rest',
    delivers: true,
    shared: true,
    async start() {
      const redisUrl = inject('redisUrl');
      const endpoint = await startUpstashEndpoint({ token: `token-${prefix}`, redisUrl });
      return {
        open: () => createUpstashNotifier({ url: endpoint.url, token: endpoint.token, onError }),
        async held(_id, channels) {
          const admin = new IORedis(redisUrl);
          try {
            const counts = (await admin.call('PUBSUB', 'NUMSUB', ...channels)) as Array<string | number>;
            return counts.filter((_, i) => i % 2 === 1).reduce<number>((sum, n) => sum + Number(n), 0);
          } finally {
            admin.disconnect();
          }
        },
        stop: () => endpoint.close(),
      };
    },
  },
  {
    name: 'redis-tcp',
    delivers: true,
    shared: true,
    async start() {
      const redisUrl = inject('redisUrl');
      return {
        open: () => createRedisNotifier({ url: redisUrl, connectionName: `${prefix}-${++opened}`, onError }),
        async held(id) {
          return (await clientList(redisUrl)).filter((line) => line.includes(` name=${prefix}-${id}:`))
            .length;
        },
        stop: async () => undefined,
      };
    },
  },
  {
    name: 'postgres',
    delivers: true,
    shared: true,
    async start() {
      const databaseUrl = inject('databaseUrl');
      const admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      return {
        open: () =>
          createPostgresNotifier({
            connectionString: databaseUrl,
            applicationName: `${prefix}-${++opened}`,
            onError,
          }),
        async held(id) {
          const { rows } = await admin.query<{ n: number }>(
            'select count(*)::int as n from pg_stat_activity where application_name like $1',
            [`${prefix}-${id}:%`],
          );
          return rows[0]!.n;
        },
        stop: () => admin.end(),
      };
    },
  },
  {
    name: 'memory',
    delivers: true,
    shared: false,
    async start() {
      return {
        open: () => createMemoryNotifier({ onError }),
        held: async () => undefined,
        stop: async () => undefined,
      };
    },
  },
  {
    name: 'none',
    delivers: false,
    shared: false,
    async start() {
      return { open: () => createNoneNotifier(), held: async () => undefined, stop: async () => undefined };
    },
  },
];

async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.each(cases)('Notifier $name', (notifierCase) => {
  let harness: Harness;
  let notifier: Notifier;
  /** The number `open()` gave `notifier` (it names its connections). */
  let notifierId = 0;
  let serial = 0;
  const channel = () => `${prefix}:${notifierCase.name}:${++serial}`;
  /** Waits for `count` messages where they are delivered; lets a publish settle for `none`. */
  const settle = async (box: ReturnType<typeof inbox>, count: number) => {
    if (notifierCase.delivers) await box.until(count);
    else await new Promise((resolve) => setTimeout(resolve, 50));
  };
  const expected = (messages: string[]) => (notifierCase.delivers ? messages : []);

  beforeAll(async () => {
    harness = await notifierCase.start();
    notifier = harness.open();
    notifierId = opened;
  });
  afterAll(async () => {
    await notifier?.close();
    await harness?.stop();
    expect(errors).toEqual([]);
  });

  it('delivers a message published after subscribe resolved, exactly once', async () => {
    const name = channel();
    const box = inbox();
    const unsubscribe = await notifier.subscribe(name, box.onMessage);
    await notifier.publish(name, 'first');
    await notifier.publish(name, 'sentinel');
    await settle(box, 2);
    expect(box.messages).toEqual(expected(['first', 'sentinel']));
    await unsubscribe();
  });

  it('delivers a message only on its own channel', async () => {
    const [a, b] = [channel(), channel()];
    const [boxA, boxB] = [inbox(), inbox()];
    const stops = await Promise.all([
      notifier.subscribe(a, boxA.onMessage),
      notifier.subscribe(b, boxB.onMessage),
    ]);
    await notifier.publish(b, 'for-b');
    await notifier.publish(a, 'for-a');
    await Promise.all([settle(boxA, 1), settle(boxB, 1)]);
    expect(boxA.messages).toEqual(expected(['for-a']));
    expect(boxB.messages).toEqual(expected(['for-b']));
    await Promise.all(stops.map((stop) => stop()));
  });

  it('delivers to every subscriber of a channel, also through other notifier instances', async () => {
    const name = channel();
    const other = notifierCase.shared ? harness.open() : notifier;
    const boxes = [inbox(), inbox(), inbox(), inbox()];
    const stops = await Promise.all([
      notifier.subscribe(name, boxes[0]!.onMessage),
      notifier.subscribe(name, boxes[1]!.onMessage),
      notifier.subscribe(name, boxes[2]!.onMessage),
      other.subscribe(name, boxes[3]!.onMessage),
    ]);
    await notifier.publish(name, 'to-all');
    await Promise.all(boxes.map((box) => settle(box, 1)));
    for (const box of boxes) expect(box.messages).toEqual(expected(['to-all']));
    await Promise.all(stops.map((stop) => stop()));
    if (other !== notifier) await other.close();
  });

  it('stops delivering after unsubscribe, which is idempotent, and can subscribe again', async () => {
    const name = channel();
    const [gone, staying, again] = [inbox(), inbox(), inbox()];
    const stopGone = await notifier.subscribe(name, gone.onMessage);
    const stopStaying = await notifier.subscribe(name, staying.onMessage);
    await stopGone();
    await stopGone();
    await notifier.publish(name, 'after-unsubscribe');
    await settle(staying, 1);
    await stopStaying();
    await stopStaying();
    // The channel had no subscriber left: a new one must find it working again.
    const stopAgain = await notifier.subscribe(name, again.onMessage);
    await notifier.publish(name, 'resubscribed');
    await settle(again, 1);
    expect(gone.messages).toEqual([]);
    expect(staying.messages).toEqual(expected(['after-unsubscribe']));
    expect(again.messages).toEqual(expected(['resubscribed']));
    await stopAgain();
  });

  it('round-trips message content: unicode, commas, quotes, JSON', async () => {
    const name = channel();
    const box = inbox();
    const unsubscribe = await notifier.subscribe(name, box.onMessage);
    const messages = [
      JSON.stringify({
        event: 'task_finished',
        note: 'héllo, wörld — 你好 🎉',
        quote: 'say "hi"',
        path: 'a\\b',
      }),
      'plain, with, commas',
      '"a JSON string"',
      '123',
      'data: message,elsewhere,fake',
      '  padded  ',
      '',
      'x'.repeat(4000),
    ];
    for (const message of messages) await notifier.publish(name, message);
    await settle(box, messages.length);
    expect(box.messages).toEqual(expected(messages));
    await unsubscribe();
  });

  it('keeps delivering after an onMessage callback throws', async () => {
    const name = channel();
    const box = inbox();
    const seen: unknown[] = [];
    const unsubscribe = await notifier.subscribe(name, (message) => {
      box.onMessage(message);
      if (message === 'boom') throw new Error('handler failed');
    });
    await notifier.publish(name, 'boom');
    await notifier.publish(name, 'still here');
    await settle(box, 2);
    expect(box.messages).toEqual(expected(['boom', 'still here']));
    seen.push(...errors.splice(0));
    expect(seen.map((error) => (error as Error).message)).toEqual(
      notifierCase.delivers ? ['handler failed'] : [],
    );
    await unsubscribe();
  });

  it('gives 1,000 concurrent subscriptions on distinct channels only their own message', async () => {
    const names = Array.from({ length: 1000 }, () => channel());
    const boxes = names.map(() => inbox());
    const stops = await Promise.all(names.map((name, i) => notifier.subscribe(name, boxes[i]!.onMessage)));
    if (notifierCase.name === 'redis-tcp') {
      const subscribers = (await clientList(inject('redisUrl'))).filter((line) =>
        line.includes(` name=${prefix}-${notifierId}:subscribe `),
      );
      expect(subscribers).toHaveLength(1);
      expect(subscribers[0]).toContain(' sub=1000 ');
    }
    await Promise.all(names.map((name, i) => notifier.publish(name, `message-${i}`)));
    await Promise.all(boxes.map((box) => settle(box, 1)));
    boxes.forEach((box, i) => expect(box.messages).toEqual(expected([`message-${i}`])));
    await Promise.all(stops.map((stop) => stop()));
  });

  it('refuses channel names that cannot travel on every transport', async () => {
    const bad = ['', 'has space', 'a/b', 'what?', 'hash#tag', '100%', 'line\nbreak'];
    for (const name of bad) {
      if (notifierCase.delivers) {
        await expect(notifier.subscribe(name, () => undefined)).rejects.toMatchObject({
          code: 'INVALID_CHANNEL',
        });
        await expect(notifier.publish(name, 'x')).rejects.toBeInstanceOf(NotifierError);
      } else {
        await expect(notifier.publish(name, 'x')).resolves.toBeUndefined();
      }
    }
  });

  it('close() releases its connections and refuses further use', async () => {
    const id = opened + 1;
    const own = harness.open();
    const name = channel();
    const box = inbox();
    await own.subscribe(name, box.onMessage);
    await own.publish(name, 'before-close');
    await settle(box, 1);
    expect(await harness.held(id, [name])).not.toBe(0);
    await own.close();
    if (notifierCase.delivers) {
      await expect(own.publish(name, 'x')).rejects.toMatchObject({ code: 'NOTIFIER_CLOSED' });
      await expect(own.subscribe(name, () => undefined)).rejects.toMatchObject({ code: 'NOTIFIER_CLOSED' });
    } else {
      await expect(own.publish(name, 'x')).resolves.toBeUndefined();
    }
    const held = await poll(
      () => harness.held(id, [name]),
      (n) => n === undefined || n === 0,
      'held after close',
    );
    expect(held ?? 0).toBe(0);
    // A message that reaches a live subscriber of the channel no longer reaches the closed one.
    const sentinel = inbox();
    const stopSentinel = await notifier.subscribe(name, sentinel.onMessage);
    await notifier.publish(name, 'after-close');
    await settle(sentinel, 1);
    expect(box.messages).toEqual(expected(['before-close']));
    await stopSentinel();
  });
});

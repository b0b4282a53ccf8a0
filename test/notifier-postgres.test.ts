/**
 * The Postgres LISTEN/NOTIFY notifier beyond the conformance suite: Postgres's limits on
 * payloads and channel names, Neon's pooler, publishing through a Database, and surviving a
 * terminated LISTEN connection.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConfigError } from '../src/core/errors.ts';
import type { Notifier, NotifierStatus } from '../src/core/notifier.ts';
import {
  createPostgresNotifier,
  POSTGRES_PAYLOAD_LIMIT,
  postgresChannelName,
} from '../src/adapters/node/postgres-notifier.ts';
import { createPgDatabase } from '../src/adapters/node/pg-database.ts';
import { freePort } from './support/services.ts';
import { inbox } from './support/inbox.ts';

const prefix = `t_notif_pg_${Math.random().toString(36).slice(2, 8)}`;
const fast = { initialDelayMs: 50, maxDelayMs: 300 };
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: inject('databaseUrl') });
  await admin.connect();
});
afterAll(async () => {
  await admin.end();
});

async function listenerPids(applicationName: string): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(
    'select pid from pg_stat_activity where application_name = $1 order by pid',
    [`${applicationName}:listen`],
  );
  return rows.map((row) => row.pid);
}

describe('Postgres notifier', () => {
  const notifiers: Notifier[] = [];
  const open = (name: string, extra: Partial<Parameters<typeof createPostgresNotifier>[0]> = {}) => {
    const notifier = createPostgresNotifier({
      connectionString: inject('databaseUrl'),
      applicationName: `${prefix}-${name}`,
      retry: fast,
      onError: () => undefined,
      ...extra,
    });
    notifiers.push(notifier);
    return notifier;
  };
  afterAll(async () => {
    await Promise.all(notifiers.map((notifier) => notifier.close()));
  });

  it("refuses Neon's pooled host with a ConfigError naming the direct one", () => {
    const pooled = 'postgres://u:p@ep-cool-fog-123456-pooler.eu-central-1.aws.neon.tech/db?sslmode=require';
    expect(() => createPostgresNotifier({ connectionString: pooled })).toThrow(ConfigError);
    expect(() => createPostgresNotifier({ connectionString: pooled })).toThrow(
      /ep-cool-fog-123456\.eu-central-1\.aws\.neon\.tech/,
    );
    expect(() =>
      createPostgresNotifier({ connectionString: 'host=ep-x-pooler.neon.tech dbname=db user=u' }),
    ).toThrow(ConfigError);
  });

  it('delivers a payload of 7,999 bytes and refuses 8,000 before reaching Postgres', async () => {
    const notifier = open('payload');
    const channel = `${prefix}:payload`;
    const box = inbox();
    await notifier.subscribe(channel, box.onMessage);
    // 'é' is two bytes in UTF-8: the limit is in bytes, not characters.
    const largest = 'é'.repeat((POSTGRES_PAYLOAD_LIMIT - 1) / 2) + 'x';
    expect(Buffer.byteLength(largest)).toBe(7999);
    await notifier.publish(channel, largest);
    expect(await box.until(1)).toEqual([largest]);
    await expect(notifier.publish(channel, `${largest}x`)).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
      channel,
    });
    await expect(notifier.publish(channel, 'nul \u0000 byte')).rejects.toMatchObject({
      code: 'INVALID_MESSAGE',
    });
  });

  it('keeps channel names longer than 63 bytes apart instead of truncating them together', async () => {
    const head = `${prefix}:${'long'.repeat(20)}`;
    const [a, b] = [`${head}:a`, `${head}:b`];
    const truncated = Buffer.from(a).subarray(0, 63).toString();
    for (const name of [a, b, `${'ü'.repeat(40)}:x`]) {
      expect(Buffer.byteLength(postgresChannelName(name))).toBeLessThanOrEqual(63);
    }
    expect(postgresChannelName(a)).not.toBe(postgresChannelName(b));
    expect(postgresChannelName(truncated)).toBe(truncated);

    const notifier = open('long');
    const box = inbox();
    await notifier.subscribe(a, box.onMessage);
    await notifier.publish(b, 'for b');
    await notifier.publish(truncated, 'for the truncated name');
    await notifier.publish(a, 'for a');
    expect(await box.until(1)).toEqual(['for a']);
  });

  it('publishes through a Database when given one', async () => {
    const database = createPgDatabase({ connectionString: inject('databaseUrl'), max: 1 });
    try {
      const notifier = open('database', { database });
      const channel = `${prefix}:database`;
      const box = inbox();
      await notifier.subscribe(channel, box.onMessage);
      await notifier.publish(channel, 'via Database');
      expect(await box.until(1)).toEqual(['via Database']);
      const { rows } = await admin.query('select 1 from pg_stat_activity where application_name = $1', [
        `${prefix}-database:publish`,
      ]);
      expect(rows).toEqual([]);
    } finally {
      await database.close();
    }
  });

  it('re-LISTENs after its connection is terminated, reporting disconnected then connected', async () => {
    const notifier = open('terminate');
    const channels = [`${prefix}:terminate:1`, `${prefix}:terminate:2`];
    const boxes = [inbox(), inbox()];
    const statuses: NotifierStatus[] = [];
    for (const [i, channel] of channels.entries()) {
      await notifier.subscribe(channel, boxes[i]!.onMessage, { onStatus: (status) => statuses.push(status) });
    }
    await notifier.publish(channels[0]!, 'before');
    expect(await boxes[0]!.until(1)).toEqual(['before']);
    const [pid] = await listenerPids(`${prefix}-terminate`);
    expect(pid).toBeTypeOf('number');

    await admin.query('select pg_terminate_backend($1)', [pid]);
    const deadline = Date.now() + 10_000;
    while (statuses.filter((s) => s === 'connected').length < 2) {
      if (Date.now() > deadline) throw new Error(`statuses after terminate: ${statuses}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(statuses).toEqual(['disconnected', 'disconnected', 'connected', 'connected']);
    const pids = await listenerPids(`${prefix}-terminate`);
    expect(pids).toHaveLength(1);
    expect(pids[0]).not.toBe(pid);

    await notifier.publish(channels[0]!, 'after 1');
    await notifier.publish(channels[1]!, 'after 2');
    expect(await boxes[0]!.until(2)).toEqual(['before', 'after 1']);
    expect(await boxes[1]!.until(1)).toEqual(['after 2']);
  });

  it('fails fast and keeps retrying when Postgres is unreachable', async () => {
    const port = await freePort();
    const notifier = open('down', { connectionString: `postgres://postgres@127.0.0.1:${port}/test` });
    const statuses: NotifierStatus[] = [];
    const started = performance.now();
    await notifier.subscribe(`${prefix}:down`, () => undefined, {
      onStatus: (status) => statuses.push(status),
    });
    expect(statuses).toEqual(['disconnected']);
    await expect(notifier.publish(`${prefix}:down`, 'x')).rejects.toMatchObject({ code: 'PUBLISH_FAILED' });
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

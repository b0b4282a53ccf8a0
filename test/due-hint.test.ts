/**
 * The cron Worker's "anything due?" hint: both stores (Redis over TCP, Upstash REST through the
 * local endpoint backed by the same real Redis) keep the same keys with the same meaning, and a
 * reading only says "idle" when it can prove it: a change counted after the check, a missing
 * key or a recorded time that has come all say "ask the database". A container worker counts
 * its retries there.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { hintSaysIdle, dueHintKeys, type DueHint } from '../src/core/due-hint.ts';
import { createRedisDueHint } from '../src/adapters/node/redis-due-hint.ts';
import { createUpstashDueHint } from '../src/adapters/edge/upstash-due-hint.ts';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { silentLogger } from '../worker/container/logger.ts';
import { runWorker } from '../worker/container/run-worker.ts';
import { startUpstashEndpoint } from '../worker/dev/upstash-endpoint.ts';
import { useTestSchema } from './support/test-schema.ts';
import { inject } from 'vitest';
import { waitFor } from './support/wait-for.ts';

const t = useTestSchema('due_hint');
const redisUrl = inject('redisUrl');
const cleanups: Array<() => Promise<void>> = [];
const schemasUsed = new Set<string>([t.schema]);
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  for (const schema of schemasUsed) await deleteKeys(schema);
});

const stores: Array<[string, (schema: string) => Promise<DueHint>]> = [
  [
    'redis',
    async (schema) => {
      const hint = createRedisDueHint({ url: redisUrl, schema });
      cleanups.push(() => hint.close());
      return hint;
    },
  ],
  [
    'upstash',
    async (schema) => {
      const endpoint = await startUpstashEndpoint({ token: 'due-hint-test', port: 0, redisUrl });
      cleanups.push(() => endpoint.close());
      return createUpstashDueHint({ url: endpoint.url, token: endpoint.token, schema });
    },
  ],
];

async function deleteKeys(schema: string): Promise<void> {
  const redis = new Redis(redisUrl);
  const keys = dueHintKeys(schema);
  await redis.del(keys.changes, keys.checked, keys.nextAt);
  redis.disconnect();
}

describe.each(stores)('the due hint in %s', (_, open) => {
  it('says idle only after a check that no change came after, until the recorded time', async () => {
    const schema = `${t.schema}_${Math.random().toString(36).slice(2, 8)}`;
    schemasUsed.add(schema);
    const hint = await open(schema);
    const now = Date.now();

    const fresh = await hint.read();
    expect(fresh).toEqual({ changes: 0, checked: null, nextAt: null });
    expect(hintSaysIdle(fresh, now)).toBe(false); // never checked: ask

    await hint.settle(fresh, now + 60_000);
    const settled = await hint.read();
    expect(settled).toEqual({ changes: 0, checked: 0, nextAt: now + 60_000 });
    expect(hintSaysIdle(settled, now)).toBe(true);
    expect(hintSaysIdle(settled, now + 60_000)).toBe(false); // the recorded time came

    // A change counted while a check ran (after its reading): the check records the count it
    // read, so the next reading still asks.
    const before = await hint.read();
    await hint.mark();
    await hint.settle(before, now + 60_000);
    const after = await hint.read();
    expect(after.changes).toBe(1);
    expect(hintSaysIdle(after, now)).toBe(false);
    await hint.settle(after, now + 60_000);
    expect(hintSaysIdle(await hint.read(), now)).toBe(true);

    // Keys gone (a flush, an eviction): nothing is proven.
    await deleteKeys(schema);
    expect(hintSaysIdle(await hint.read(), now)).toBe(false);
  });
});

describe('a client with a due hint', () => {
  it('counts a change when it creates, updates or resumes a schedule (it may fire before anything known)', async () => {
    const hint = createRedisDueHint({ url: redisUrl, schema: t.schema });
    cleanups.push(() => hint.close());
    const client = createTaskClient({ database: t.db, schema: t.schema, dueHint: hint });
    const before = (await hint.read()).changes;
    await client.schedules.create('hinted', { cron: '0 3 * * *', task: 'test.noop' });
    expect((await hint.read()).changes).toBe(before + 1);
    await client.schedules.pause('hinted');
    expect((await hint.read()).changes).toBe(before + 1); // pausing makes nothing sooner
    await client.schedules.resume('hinted');
    await client.schedules.update('hinted', { cron: '0 4 * * *', task: 'test.noop' });
    expect((await hint.read()).changes).toBe(before + 3);
    await client.schedules.delete('hinted');
  });
});

describe('a container worker with a due hint', () => {
  it('counts a change when it schedules a retry', async () => {
    const hint = createRedisDueHint({ url: redisUrl, schema: t.schema });
    cleanups.push(() => hint.close());
    const worker = await runWorker({
      tasks: 'test/fixtures/tasks.ts',
      database: t.db,
      schema: t.schema,
      pollInterval: 50,
      dueHint: hint,
      logger: silentLogger,
    });
    try {
      const before = (await hint.read()).changes;
      const client = createTaskClient({ database: t.db, schema: t.schema });
      const flaky = await client.createTask('test.fail_once', { maxRetries: 1 });
      expect(await client.waitForCompletion(flaky.id, { timeout: 15 })).toMatchObject({
        status: 'COMPLETED',
        attempt: 2,
      });
      await waitFor(async () => (await hint.read()).changes > before, { what: 'the retry counted' });
    } finally {
      await worker.stop({ grace: 1 });
    }
  });
});

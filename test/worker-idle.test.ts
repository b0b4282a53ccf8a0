/**
 * An idle worker lets serverless Postgres sleep, and maintenance runs on one elected worker.
 *
 * - With a connected notifier, an idle worker sends no query for as long as nothing is due
 *   (its poll interval would have sent dozens); it still runs a delayed task and a retry when
 *   they become due, and polls again the moment its notifier goes down. Queries are counted on
 *   the way to the real Postgres.
 * - Real processes: kill -9 the elected worker and the other one takes over its maintenance
 *   within one lease, recovering a task whose worker died.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import type { Database } from '../src/core/database.ts';
import { createRedisNotifier } from '../src/adapters/node/redis-notifier.ts';
import { createNoneNotifier } from '../src/adapters/edge/none-notifier.ts';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { silentLogger } from '../worker/container/logger.ts';
import { runWorker } from '../worker/container/run-worker.ts';
import { startRedis, stopAllRedis, stopProcess } from './support/private-redis.ts';
import { freePort } from './support/services.ts';
import { useTestSchema } from './support/test-schema.ts';
import { waitFor } from './support/wait-for.ts';
import { startWorkerProcess } from './support/worker-process.ts';

const t = useTestSchema('idle');
afterAll(stopAllRedis);

/** The real database, counting the statements sent through it. */
function counting(inner: Database): Database & { count: () => number } {
  let count = 0;
  return {
    count: () => count,
    query: (text, params, options) => {
      count++;
      if (process.env.DEBUG_IDLE)
        console.log(Date.now() % 100000, text.trim().slice(0, 60).replace(/\s+/g, ' '));
      return inner.query(text, params, options);
    },
    transaction: (queries) => {
      count += queries.length;
      return inner.transaction(queries);
    },
    close: () => Promise.resolve(),
  } as Database & { count: () => number };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `span` ms pass without a query, and returns how many were sent meanwhile. */
async function quietFor(db: { count: () => number }, span: number): Promise<void> {
  let last = db.count();
  let since = Date.now();
  await waitFor(
    () => {
      if (db.count() !== last) {
        last = db.count();
        since = Date.now();
      }
      return Date.now() - since >= span;
    },
    { what: `${span} ms without a query`, timeout: 15_000 },
  );
}

describe('an idle worker with a notifier', () => {
  it('sends no query while nothing is due, yet runs a delayed task and a retry on time, and polls once the notifier is down', async () => {
    const port = await freePort();
    const redis: ChildProcess = await startRedis(port);
    const notifier = createRedisNotifier({
      url: `redis://127.0.0.1:${port}`,
      onError: () => undefined,
      retry: { initialDelayMs: 50, maxDelayMs: 300 },
    });
    const db = counting(t.db);
    const worker = await runWorker({
      tasks: 'test/fixtures/tasks.ts',
      database: db,
      schema: t.schema,
      notifier,
      pollInterval: 50, // what an idle worker would cost if it polled: 20 queries a second
      idleInterval: 60_000,
      logger: silentLogger,
    });
    const client = createTaskClient({ database: t.db, schema: t.schema, notifier });
    try {
      await quietFor(db, 1500); // longer than the maintainer's 1 s gap between two looks
      // A fixed span on purpose: the behaviour under test is that nothing happens in it.
      const before = db.count();
      await sleep(2000);
      expect(db.count() - before).toBe(0);

      // Due in 1.5 s: the notification at creation finds nothing due; the plan that follows
      // wakes the worker when it is.
      const delayed = await client.createTask('test.noop', { delay: 1.5 });
      const ran = await client.waitForCompletion(delayed.id, { timeout: 15 });
      expect(ran?.status).toBe('COMPLETED');
      const late = ran!.startedAt!.getTime() - ran!.runAt.getTime();
      expect(late).toBeLessThan(1000);

      // A retry is due after its back-off (0.5 to 1 s): no notification announces it.
      const flaky = await client.createTask('test.fail_once', { maxRetries: 1 });
      const retried = await client.waitForCompletion(flaky.id, { timeout: 15 });
      expect(retried).toMatchObject({ status: 'COMPLETED', attempt: 2 });

      await quietFor(db, 1000);

      // The notifier goes down: tasks created meanwhile send no message, so polling resumes.
      await stopProcess(redis);
      await waitFor(
        async () => {
          const from = db.count();
          await sleep(500);
          return db.count() - from >= 5;
        },
        { what: 'polling after the notifier went down' },
      );
      const silent = createTaskClient({ database: t.db, schema: t.schema });
      const unannounced = await silent.createTask('test.noop');
      expect((await silent.waitForCompletion(unannounced.id, { timeout: 15 }))?.status).toBe('COMPLETED');
    } finally {
      await worker.stop({ grace: 1 });
      await notifier.close();
    }
  });
});

describe('a worker given the none notifier', () => {
  it('polls as without a notifier: it never waits for messages that cannot come', async () => {
    const db = counting(t.db);
    const worker = await runWorker({
      tasks: 'test/fixtures/tasks.ts',
      database: db,
      schema: t.schema,
      notifier: createNoneNotifier(),
      pollInterval: 50,
      idleInterval: 60_000,
      logger: silentLogger,
    });
    try {
      await waitFor(
        async () => {
          const from = db.count();
          await sleep(500);
          return db.count() - from >= 5;
        },
        { what: 'polling with the none notifier' },
      );
      const client = createTaskClient({ database: t.db, schema: t.schema });
      const task = await client.createTask('test.noop');
      const done = await client.waitForCompletion(task.id, { timeout: 15 });
      expect(done?.status).toBe('COMPLETED');
      expect(done!.startedAt!.getTime() - task.createdAt.getTime()).toBeLessThan(2000);
    } finally {
      await worker.stop({ grace: 1 });
    }
  });
});

describe('one maintainer', () => {
  it('kill -9 the elected worker: the other takes over within one lease and recovers a dead worker task', async () => {
    const args = ['--lease', '2', '--notifier', 'none', '--poll-interval', '200'];
    const leader = startWorkerProcess({ databaseUrl: t.databaseUrl, schema: t.schema, args });
    const elected = await leader.waitFor('maintainer_elected');
    const leaderId = ((await leader.waitFor('worker_started')).workerId as string) ?? '';
    expect(elected.leader).toBe(leaderId);
    const follower = startWorkerProcess({ databaseUrl: t.databaseUrl, schema: t.schema, args });
    const followerId = (await follower.waitFor('worker_started')).workerId as string;
    try {
      const holder = async () =>
        (await t.db.query(`select holder from ${t.schema}.maintainer`)).rows[0]?.holder as string;
      expect(await holder()).toBe(leaderId);
      expect(follower.events.some((line) => line.event === 'maintainer_elected')).toBe(false);

      // A task whose worker died, its lease ending in a second.
      const client = createTaskClient({ database: t.db, schema: t.schema });
      const orphan = await client.createTask('test.noop', { maxRetries: 1 });
      await t.db.query(
        `update ${t.schema}.tasks set status = 'PROGRESS', attempt = 1, worker_id = 'gone',
           lease_until = now() + interval '1 second' where id = $1`,
        [orphan.id],
      );
      leader.child.kill('SIGKILL');
      expect(await leader.exited).toBe('SIGKILL');
      const killedAt = Date.now();

      await follower.waitFor('maintainer_elected', undefined, 10_000);
      const done = await client.waitForCompletion(orphan.id, { timeout: 20 });
      expect(done).toMatchObject({ status: 'COMPLETED', attempt: 2, workerId: followerId });
      expect(done!.errorHistory).toMatchObject([{ attempt: 1, type: 'LeaseExpiredError' }]);
      // The leader lease (2 s), the sweep's grace (1 s), the back-off (≤ 1 s), one poll.
      expect(Date.now() - killedAt).toBeLessThan(6000);
      expect(await holder()).toBe(followerId);
    } finally {
      follower.child.kill('SIGTERM');
      await follower.exited;
    }
  });
});

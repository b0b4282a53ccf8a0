/**
 * The `unannounced_tasks` warning says that tasks wait because they were created without a
 * notification, and only then:
 *
 * - the rules, on the bookkeeping alone (unannounced-tasks.ts);
 * - real workers, Postgres and Redis: a task created by a client without the notifier is
 *   reported by an idle listening worker; a task held back by its queue's concurrency limit
 *   (its slot taken by another worker's long run) waits as long, yet is not reported.
 */
import { describe, expect, inject, it } from 'vitest';
import type { LogFields, LogLevel } from '../src/core/logger.ts';
import { createRedisNotifier } from '../src/adapters/node/redis-notifier.ts';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { runWorker, type WorkerHandle } from '../worker/container/run-worker.ts';
import { unannouncedTasks, UNANNOUNCED_WARN_EVERY_MS } from '../worker/container/unannounced-tasks.ts';
import { countingDatabase } from './support/drivers.ts';
import { useTestSchema } from './support/test-schema.ts';
import { waitFor } from './support/wait-for.ts';

const t = useTestSchema('unannounced');

interface Line {
  level: LogLevel;
  event: string;
  fields?: LogFields;
}

function recordingLogger() {
  const lines: Line[] = [];
  return {
    lines,
    log: (level: LogLevel, event: string, fields?: LogFields) => lines.push({ level, event, fields }),
  };
}

const warnings = (lines: Line[]) => lines.filter((line) => line.event === 'unannounced_tasks');

describe('the unannounced_tasks rules', () => {
  const plan = (waitedMs: number) => ({ now: 100_000, nextDue: 100_000 - waitedMs });

  it('warns when a plan saw a task due for 5 s and the claim after it took one that waited as long', () => {
    const logger = recordingLogger();
    const warning = unannouncedTasks(logger, () => 1);
    warning.dueWhileIdle(plan(6000));
    warning.claimed([{ waitedMs: 10 }, { waitedMs: 6200 }], false);
    expect(warnings(logger.lines)).toEqual([
      expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ waitedSeconds: 6 }) }),
    ]);
  });

  it('stays quiet when limits held tasks back, when the claim took nothing or nothing old, or when no plan armed it', () => {
    const logger = recordingLogger();
    const warning = unannouncedTasks(logger, () => 1);
    warning.claimed([{ waitedMs: 9000 }], false); // not armed
    warning.dueWhileIdle(plan(4000)); // not due long enough
    warning.claimed([{ waitedMs: 9000 }], false);
    warning.dueWhileIdle(plan(6000));
    warning.claimed([{ waitedMs: 6000 }], true); // held back by a limit
    warning.claimed([{ waitedMs: 6000 }], false); // the arming was used up
    warning.dueWhileIdle(plan(6000));
    warning.claimed([], false);
    warning.dueWhileIdle(plan(6000));
    warning.claimed([{ waitedMs: 300 }], false);
    expect(warnings(logger.lines)).toEqual([]);
  });

  it('warns at most once per 10 minutes', () => {
    const logger = recordingLogger();
    let now = 0;
    const warning = unannouncedTasks(logger, () => now);
    for (const at of [0, 1000, UNANNOUNCED_WARN_EVERY_MS - 1, UNANNOUNCED_WARN_EVERY_MS + 1]) {
      now = at;
      warning.dueWhileIdle(plan(6000));
      warning.claimed([{ waitedMs: 6000 }], false);
    }
    expect(warnings(logger.lines)).toHaveLength(2);
  });
});

describe('workers that listen for notifications', () => {
  const redisUrl = inject('redisUrl');
  const quiet = () => undefined;

  async function listeningWorker(name: string, queues: string[], concurrency: number) {
    const logger = recordingLogger();
    const database = countingDatabase(t.db);
    const notifier = createRedisNotifier({ url: redisUrl, onError: quiet, connectionName: name });
    const worker = await runWorker({
      tasks: 'test/fixtures/tasks.ts',
      database,
      schema: t.schema,
      queues,
      concurrency,
      notifier,
      // The task below is created a second after the last look, so it waits about 7 s.
      idleInterval: 8000,
      isolation: 'none',
      logger,
    });
    // Listening once started (runWorker resolves after its subscriptions are made), and asleep
    // once its start-up looks are over: a second without a query.
    await waitFor(
      async () => {
        const before = database.statements.length;
        await new Promise((resolve) => setTimeout(resolve, 1000));
        return database.statements.length === before;
      },
      { what: `${name} asleep` },
    );
    return { logger, notifier, worker };
  }

  async function stopAll(parts: { worker: WorkerHandle; notifier: { close(): Promise<void> } }[]) {
    for (const { worker, notifier } of parts) {
      await worker.stop({ grace: 1 });
      await notifier.close();
    }
  }

  it('an idle worker reports a task created without a notification once it has waited', async () => {
    const listening = await listeningWorker('unannounced-a', ['plain'], 2);
    try {
      const silent = createTaskClient({ database: t.db, schema: t.schema });
      const task = await silent.createTask('test.noop', { queue: 'plain' });
      const done = await silent.waitForCompletion(task.id, { timeout: 20 });
      expect(done?.status).toBe('COMPLETED');
      expect(warnings(listening.logger.lines)).toEqual([
        expect.objectContaining({ fields: expect.objectContaining({ waitedSeconds: expect.any(Number) }) }),
      ]);
      expect(warnings(listening.logger.lines)[0]?.fields?.waitedSeconds).toBeGreaterThanOrEqual(5);
    } finally {
      await stopAll([listening]);
    }
  }, 30_000);

  it('a task held back by its queue limit waits as long, announced, and is not reported', async () => {
    const notifier = createRedisNotifier({
      url: redisUrl,
      onError: quiet,
      connectionName: 'unannounced-client',
    });
    const client = createTaskClient({ database: t.db, schema: t.schema, notifier });
    await client.setQueueLimits('held', { concurrency: 1 });
    const sleeper = await listeningWorker('unannounced-sleeper', ['held'], 1);
    const idle = { worker: undefined as Awaited<ReturnType<typeof listeningWorker>> | undefined };
    try {
      // Longer than the idle worker's first look (8 s) at the held task: what used to warn.
      const long = await client.createTask('test.sleep', { args: [14_000], queue: 'held' });
      await waitFor(async () => (await client.getTask(long.id))?.status === 'PROGRESS', {
        what: 'the long run',
      });
      idle.worker = await listeningWorker('unannounced-idle', ['held'], 2);
      const held = await client.createTask('test.noop', { queue: 'held' });
      const done = await client.waitForCompletion(held.id, { timeout: 25 });
      expect(done?.status).toBe('COMPLETED');
      // It waited for the slot: as long as an unannounced task would have.
      expect(done!.startedAt!.getTime() - done!.createdAt.getTime()).toBeGreaterThan(5000);
      expect(warnings(idle.worker.logger.lines)).toEqual([]);
      expect(warnings(sleeper.logger.lines)).toEqual([]);
    } finally {
      await stopAll(idle.worker ? [sleeper, idle.worker] : [sleeper]);
      await notifier.close();
    }
  }, 40_000);
});

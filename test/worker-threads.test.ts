/**
 * The thread pool starts threads on demand: a flood of sub-millisecond tasks does not start
 * all `--concurrency` threads (their start-up would cost more than they add), while tasks
 * that hold their thread get every slot, so concurrency is still what the user asked for.
 * Real `task-worker run` processes; threads are counted from the worker's own log.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { useTestSchema } from './support/test-schema.ts';
import { eventually, startWorkerProcess, type WorkerProcess } from './support/worker-process.ts';

const t = useTestSchema('threads');
const CONCURRENCY = 6;
let worker: WorkerProcess | undefined;
afterEach(async () => {
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  worker = undefined;
});

function start(queue: string): WorkerProcess {
  return startWorkerProcess({
    databaseUrl: t.databaseUrl,
    schema: t.schema,
    args: ['--concurrency', String(CONCURRENCY), '--queues', queue, '--poll-interval', '100'],
  });
}

const threadsStarted = (w: WorkerProcess) => w.events.filter((line) => line.event === 'thread_started');

describe('execution threads start on demand', () => {
  it('drains 3,000 no-op tasks without starting every thread', async () => {
    const client = createTaskClient({ database: t.db, schema: t.schema });
    worker = start('fast');
    await worker.waitFor('worker_started');
    const tasks = await client.createTasks(
      Array.from({ length: 3000 }, (_, i) => ({ name: 'test.noop', queue: 'fast', kwargs: { i } })),
    );
    await eventually(async () => {
      const { rows } = await t.db.query(
        `select count(*)::int as n from ${t.schema}.tasks where queue = 'fast' and status = 'COMPLETED'`,
      );
      return rows[0]!.n === tasks.length;
    }, 30_000);
    expect(threadsStarted(worker).length).toBeGreaterThanOrEqual(1);
    expect(threadsStarted(worker).length).toBeLessThan(CONCURRENCY);
  }, 60_000);

  it('starts every thread for tasks that hold their thread, and runs them side by side', async () => {
    const client = createTaskClient({ database: t.db, schema: t.schema });
    worker = start('slow');
    await worker.waitFor('worker_started');
    const tasks = await client.createTasks(
      Array.from({ length: CONCURRENCY }, () => ({ name: 'test.sleep', args: [1500], queue: 'slow' })),
    );
    const done = await Promise.all(tasks.map((task) => client.waitForCompletion(task.id, { timeout: 20 })));
    expect(done.map((task) => task?.status)).toEqual(tasks.map(() => 'COMPLETED'));
    // Side by side: the last one started before the first one finished.
    const starts = done.map((task) => task!.startedAt!.getTime());
    expect(Math.max(...starts) - Math.min(...starts)).toBeLessThan(1500);
    expect(threadsStarted(worker).map((line) => line.threads)).toEqual(
      Array.from({ length: CONCURRENCY }, (_, i) => i + 1),
    );
  }, 60_000);
});

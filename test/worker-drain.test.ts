/**
 * Many worker processes drain a queue: each task completes once and runs once; a lone worker
 * at concurrency 1 runs tasks in the order of SPEC §4.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { useTestSchema } from './support/test-schema.ts';
import { waitFor } from './support/wait-for.ts';
import { eventually, startWorkerProcess } from './support/worker-process.ts';

const t = useTestSchema('drain');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etw-drain-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function executions(file: string): Promise<string[][]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' '));
}

describe('draining', () => {
  it('4 worker processes x concurrency 4 complete 5,000 tasks, each executed exactly once', async () => {
    const client = createTaskClient({ database: t.db, schema: t.schema });
    const log = join(dir, 'drain.log');
    const workers = Array.from({ length: 4 }, () =>
      startWorkerProcess({
        databaseUrl: t.databaseUrl,
        schema: t.schema,
        args: ['--concurrency', '4', '--poll-interval', '100'],
        env: { EXEC_LOG: log },
      }),
    );
    // All four are up and competing before the tasks arrive.
    await Promise.all(workers.map((worker) => worker.waitFor('worker_started')));
    const tasks = await client.createTasks(
      Array.from({ length: 5000 }, (_, i) => ({ name: 'test.noop', args: [], kwargs: { i } })),
    );
    await eventually(
      async () => {
        const { rows } = await t.db.query(
          `select count(*)::int as n from ${t.schema}.tasks where status = 'COMPLETED'`,
        );
        return rows[0]!.n === 5000;
      },
      60_000,
      200,
    );
    for (const worker of workers) worker.child.kill('SIGTERM');
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0, 0]);

    const { rows } = await t.db.query(
      `select status, attempt, count(*)::int as n from ${t.schema}.tasks group by status, attempt`,
    );
    expect(rows).toEqual([{ status: 'COMPLETED', attempt: 1, n: 5000 }]);
    const runs = await executions(log);
    expect(runs).toHaveLength(5000);
    expect(new Set(runs.map(([id]) => id))).toEqual(new Set(tasks.map((task) => task.id)));
    // The processes really competed for the same rows (how much each got depends on timing).
    expect(new Set(runs.map(([, , pid]) => pid)).size).toBeGreaterThanOrEqual(2);
    const completed = workers.flatMap((w) => w.events.filter((e) => e.event === 'task_completed'));
    expect(completed).toHaveLength(5000);
  }, 90_000);

  it('a lone worker at concurrency 1 runs by priority, then creation order, delayed tasks by due time', async () => {
    await t.db.query(`delete from ${t.schema}.tasks`);
    const client = createTaskClient({ database: t.db, schema: t.schema });
    const made: Record<string, string> = {};
    // Created first but due later: it joins the queue when it becomes due, after the tasks
    // created before that (all the others here, created well within the second).
    made.delayed = (await client.createTask('test.noop', { runAt: new Date(Date.now() + 1000) })).id;
    made.a = (await client.createTask('test.noop')).id;
    made.high1 = (await client.createTask('test.noop', { priority: 5 })).id;
    made.b = (await client.createTask('test.noop')).id;
    made.high2 = (await client.createTask('test.noop', { priority: 5 })).id;
    made.low = (await client.createTask('test.noop', { priority: -1 })).id;
    const batch = await client.createTasks(Array.from({ length: 5 }, () => ({ name: 'test.noop' as const })));
    // The worker starts once the delayed task is due by the database's clock (the one claims
    // use), so it finds all eleven due at once and must order them.
    await waitFor(
      async () => {
        const { rows } = await t.db.query<{ due: boolean }>(
          `select run_at <= now() as due from ${t.schema}.tasks where id = $1`,
          [made.delayed],
        );
        return rows[0]?.due;
      },
      { what: 'the delayed task to be due' },
    );
    const log = join(dir, 'order.log');
    const worker = startWorkerProcess({
      databaseUrl: t.databaseUrl,
      schema: t.schema,
      env: { EXEC_LOG: log },
    });
    await eventually(async () => (await executions(log)).length === 11);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    const order = (await executions(log)).map(([id]) => id);
    expect(order).toEqual([
      made.high1,
      made.high2,
      made.a,
      made.b,
      ...batch.map((task) => task.id),
      made.delayed,
      made.low,
    ]);
  }, 30_000);
});

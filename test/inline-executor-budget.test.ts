/**
 * The cron executor and long tasks (issue #14): slots refill as tasks finish, the claim takes
 * what fits the budget first (or only, with `longTasks: 'skip'`), and a task the budget cuts
 * off again and again fails with an error that says why, without spending a retry.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { defineTasks, type TaskContext } from '../src/core/index.ts';
import { claimTasks } from '../src/core/execution/claim.ts';
import { workerStatements } from '../src/core/sql/worker-statements.ts';
import { runDueTasks, type InlineExecutorOptions } from '../worker/cron/inline-executor.ts';
import { writeCutOffs } from '../worker/cron/inline-cut-off.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('inline_budget');
const client = () => createTaskClient({ database: t.db, schema: t.schema });

const finished: string[] = [];
const tasks = defineTasks({
  'budget.wait': async (label: string, ms: number, ctx: TaskContext) => {
    await sleep(ms, undefined, { signal: ctx.signal });
    finished.push(label);
    return label;
  },
});

const run = (options: Partial<InlineExecutorOptions>) =>
  runDueTasks({ db: t.db, tasks, schema: t.schema, budgetMs: 5000, reserveMs: 100, ...options });

async function clear() {
  await t.db.query(`delete from ${t.schema}.tasks`);
  finished.length = 0;
}

describe('runDueTasks: slots', () => {
  it('refill as tasks finish: one slow task does not hold the other slot', async () => {
    await clear();
    const c = client();
    await c.createTask('budget.wait', { args: ['slow', 1500], timeout: 3 });
    for (let i = 0; i < 6; i++) await c.createTask('budget.wait', { args: [`short${i}`, 50], timeout: 3 });
    const result = await run({ concurrency: 2 });
    expect(result).toMatchObject({ claimed: 7, completed: 7, cutOff: 0, putBack: 0, budgetFailed: 0 });
    expect(finished).toHaveLength(7);
    expect(finished.at(-1)).toBe('slow');
  });
});

describe('runDueTasks: what fits the budget', () => {
  async function createMix() {
    const c = client();
    // Usable budget 4.9 s (5 s less the 0.1 s reserve): timeouts 2 and 4 fit, 5, 300 and none do not.
    const long = await c.createTask('budget.wait', { args: ['t300', 10] });
    const none = await c.createTask('budget.wait', { args: ['none', 10], timeout: null });
    const five = await c.createTask('budget.wait', { args: ['t5', 10], timeout: 5 });
    const two = await c.createTask('budget.wait', { args: ['t2', 10], timeout: 2 });
    const four = await c.createTask('budget.wait', { args: ['t4', 10], timeout: 4 });
    return { long, none, five, two, four };
  }

  it("'skip' claims only tasks whose timeout fits the budget left", async () => {
    await clear();
    const mix = await createMix();
    const result = await run({ longTasks: 'skip' });
    expect(result).toMatchObject({ claimed: 2, completed: 2 });
    expect(finished.sort()).toEqual(['t2', 't4']);
    for (const task of [mix.long, mix.none, mix.five]) {
      expect(await client().getTask(task.id)).toMatchObject({ status: 'PENDING', attempt: 0 });
    }
  });

  it("'try' (the default) runs the tasks that fit first, then the others", async () => {
    await clear();
    await createMix();
    const result = await run({ concurrency: 1 });
    expect(result).toMatchObject({ claimed: 5, completed: 5, cutOff: 0 });
    expect(finished.slice(0, 2)).toEqual(['t2', 't4']);
    expect(finished.slice(2)).toEqual(['t300', 'none', 't5']);
  });

  it('the fitting claim with queues takes the same rule', async () => {
    await clear();
    const c = client();
    await c.createTask('budget.wait', { args: ['a300', 10], queue: 'a' });
    await c.createTask('budget.wait', { args: ['a2', 10], queue: 'a', timeout: 2 });
    await c.createTask('budget.wait', { args: ['b2', 10], queue: 'b', timeout: 2 });
    const result = await run({ longTasks: 'skip', queues: ['a'] });
    expect(result).toMatchObject({ claimed: 1, completed: 1 });
    expect(finished).toEqual(['a2']);
  });
});

describe('runDueTasks: cut off by the budget', () => {
  const budget = { budgetMs: 1500, reserveMs: 100 };
  const history = async (id: string) => (await client().getTask(id))!.errorHistory.map((e) => e.type);

  it('puts a task back twice, without spending a retry, and fails it on the third cut-off', async () => {
    await clear();
    const task = await client().createTask('budget.wait', { args: ['long', 60_000], maxRetries: 2 });
    for (const n of [1, 2]) {
      const result = await run(budget);
      expect(result).toMatchObject({ claimed: 1, cutOff: 1, budgetFailed: 0, putBack: 0, failed: 0 });
      expect(await client().getTask(task.id)).toMatchObject({
        status: 'PENDING',
        retryCount: 0,
        workerId: null,
        attempt: n,
      });
      expect(await history(task.id)).toEqual(Array(n).fill('BudgetCutOffError'));
    }
    const landed: string[] = [];
    const result = await run({
      ...budget,
      onLanded: (l) => landed.push(...l.map((x) => x.status ?? 'lost')),
    });
    expect(result).toMatchObject({ claimed: 1, cutOff: 0, budgetFailed: 1, failed: 0, retried: 0 });
    expect(landed).toEqual(['FAILED']);
    const failed = await client().getTask(task.id);
    expect(failed).toMatchObject({ status: 'FAILED', retryCount: 0, errorType: 'BudgetExceededError' });
    expect(failed!.error).toContain('Cut off 3 times');
    expect(failed!.error).toContain('task timeout 300 s');
    expect(failed!.error).toContain('container worker');
    expect(failed!.finishedAt).not.toBeNull();
    expect(await history(task.id)).toEqual(['BudgetCutOffError', 'BudgetCutOffError', 'BudgetExceededError']);

    // A manual retry starts the count again: the next cut-off puts it back.
    await client().retryTask(task.id);
    expect(await run(budget)).toMatchObject({ cutOff: 1, budgetFailed: 0 });
    expect(await client().getTask(task.id)).toMatchObject({ status: 'PENDING' });
    await client().cancelTask(task.id);
  });

  it('honours maxCutOffs', async () => {
    await clear();
    const task = await client().createTask('budget.wait', { args: ['long', 60_000], timeout: null });
    expect(await run({ ...budget, maxCutOffs: 1 })).toMatchObject({ cutOff: 0, budgetFailed: 1 });
    const failed = await client().getTask(task.id);
    expect(failed).toMatchObject({ status: 'FAILED', errorType: 'BudgetExceededError' });
    expect(failed!.error).toContain('no timeout');
    await expect(run({ ...budget, maxCutOffs: 0 })).rejects.toThrow(RangeError);
  });

  it('does not count a cut-off against a task whose timeout fits the whole budget', async () => {
    await clear();
    // Usable 2.9 s, one slot: 'first' runs 1.5 s, then 'late' (timeout 2 s: fits a whole run,
    // but not the 1.4 s left) is claimed under 'try' and cut off at the end of the run.
    const c = client();
    await c.createTask('budget.wait', { args: ['first', 1500], timeout: 2 });
    const late = await c.createTask('budget.wait', { args: ['late', 1900], timeout: 2 });
    const result = await run({ budgetMs: 3000, reserveMs: 100, concurrency: 1 });
    expect(result).toMatchObject({ claimed: 2, completed: 1, cutOff: 1, budgetFailed: 0 });
    expect(await client().getTask(late.id)).toMatchObject({
      status: 'PENDING',
      retryCount: 0,
      errorHistory: [],
    });
  });

  it('a cut-off fenced by another lease token changes nothing', async () => {
    await clear();
    const task = await client().createTask('budget.wait', { args: ['x', 1] });
    const sql = workerStatements(t.schema);
    const context = {
      db: t.db,
      sql,
      workerId: 'w-fence',
      now: null,
      maxCutOffs: 1,
      budgetMs: 1500,
      reserveMs: 100,
    };
    const [claimed] = await claimTasks(
      { db: t.db, sql, workerId: 'w-fence', lease: 30, defaultRetries: 0, now: null },
      1,
    );
    const before = await t.db.query(`select * from ${t.schema}.tasks where id = $1`, [task.id]);
    const cut = { task: claimed!, durationMs: 1000 };
    const refused = await writeCutOffs(context, [
      { ...cut, task: { ...claimed!, token: crypto.randomUUID() } },
    ]);
    expect(refused).toEqual([]);
    const stale = await writeCutOffs(context, [
      { ...cut, task: { ...claimed!, attempt: claimed!.attempt + 1 } },
    ]);
    expect(stale).toEqual([]);
    const after = await t.db.query(`select * from ${t.schema}.tasks where id = $1`, [task.id]);
    expect(after.rows[0]).toEqual(before.rows[0]);
    expect(after.rows[0]).toMatchObject({ status: 'PROGRESS', error_history: [] });
    const landed = await writeCutOffs(context, [cut]);
    expect(landed.map((l) => l.status)).toEqual(['FAILED']);
  });
});

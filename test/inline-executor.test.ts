/**
 * The in-isolate executor of the Cloudflare cron Worker: runs due tasks within a budget,
 * enforcing timeouts with the AbortSignal only.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { defineTasks, NonRetryableError, type TaskContext } from '../src/core/index.ts';
import { runDueTasks } from '../worker/cron/inline-executor.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('inline');
const client = () => createTaskClient({ database: t.db, schema: t.schema });

const tasks = defineTasks({
  'inline.multiply': (a: number, b: number) => a * b,
  'inline.wait': async (ms: number, ctx: TaskContext) => {
    await sleep(ms, undefined, { signal: ctx.signal });
    return ms;
  },
  'inline.refuse': () => {
    throw new NonRetryableError('no');
  },
  'inline.flaky': (ctx: TaskContext) => {
    if (ctx.attempt === 1) throw new Error('once');
    return ctx.attempt;
  },
});

describe('runDueTasks', () => {
  it('runs every due task and records each outcome', async () => {
    const c = client();
    const ok = await c.createTask('inline.multiply', { args: [6, 7] });
    const refused = await c.createTask('inline.refuse', { maxRetries: 3 });
    const unknown = await c.createTask('inline.unknown');
    const flaky = await c.createTask('inline.flaky', { maxRetries: 1 });
    const later = await c.createTask('inline.multiply', { args: [1, 1], delay: 3600 });
    const result = await runDueTasks({ db: t.db, tasks, schema: t.schema, budgetMs: 10_000, concurrency: 2 });
    expect(result).toMatchObject({ claimed: 4, completed: 1, failed: 2, retried: 1, lost: 0, putBack: 0 });
    expect(await c.getTask(ok.id)).toMatchObject({ status: 'COMPLETED', result: 42 });
    expect(await c.getTask(refused.id)).toMatchObject({ status: 'FAILED', errorType: 'NonRetryableError' });
    expect(await c.getTask(unknown.id)).toMatchObject({ status: 'FAILED', errorType: 'UnknownTaskError' });
    expect(await c.getTask(flaky.id)).toMatchObject({ status: 'PENDING', retryCount: 1 });
    expect(await c.getTask(later.id)).toMatchObject({ status: 'PENDING', attempt: 0 });
    await c.cancelTask(flaky.id);
    await c.cancelTask(later.id);
  });

  it('times a task out through its AbortSignal', async () => {
    const task = await client().createTask('inline.wait', { args: [60_000], timeout: 1 });
    const started = Date.now();
    const result = await runDueTasks({ db: t.db, tasks, schema: t.schema, budgetMs: 20_000 });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result.failed).toBe(1);
    expect(await client().getTask(task.id)).toMatchObject({ status: 'FAILED', errorType: 'TimeoutError' });
  });

  it('puts back a task the budget cut off, without using a retry', async () => {
    const task = await client().createTask('inline.wait', { args: [60_000], timeout: 300 });
    const result = await runDueTasks({ db: t.db, tasks, schema: t.schema, budgetMs: 1500, reserveMs: 500 });
    expect(result).toMatchObject({ claimed: 1, cutOff: 1, putBack: 0, failed: 0 });
    expect(await client().getTask(task.id)).toMatchObject({
      status: 'PENDING',
      retryCount: 0,
      workerId: null,
    });
    await client().cancelTask(task.id);
  });

  it('claims nothing once the budget is spent', async () => {
    const task = await client().createTask('inline.multiply', { args: [2, 2] });
    const result = await runDueTasks({ db: t.db, tasks, schema: t.schema, budgetMs: 100, reserveMs: 200 });
    expect(result.claimed).toBe(0);
    expect((await client().getTask(task.id))?.status).toBe('PENDING');
  });
});

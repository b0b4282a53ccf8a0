/**
 * The execution thread pool on its own (real worker threads, no database): it grows for tasks
 * that hold their threads, runs them side by side, and gives idle threads back.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ExecutorPool } from '../worker/container/executor-pool.ts';
import type { ThreadTask } from '../worker/container/thread-protocol.ts';

const tasksUrl = pathToFileURL('test/fixtures/tasks.ts').href;
let pool: ExecutorPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

const sleepTask = (i: number, ms: number): ThreadTask => ({
  id: `sleep-${i}`,
  name: 'test.sleep',
  argsJson: JSON.stringify([ms]),
  kwargsJson: '{}',
  attempt: 1,
});

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('execution thread pool', () => {
  it('grows to its size for tasks that hold their threads, then retires idle threads down to one', async () => {
    pool = new ExecutorPool({ size: 4, tasksUrl, idleThreadMs: 300 });
    expect(await pool.start()).toContain('test.sleep');
    expect(pool.threads).toBe(1);
    const started = performance.now();
    const outcomes = await Promise.all([0, 1, 2, 3].map((i) => pool!.run(sleepTask(i, 800), 10)));
    const elapsed = performance.now() - started;
    expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, true, true, true]);
    expect(pool.threads).toBe(4);
    // Side by side, not one after another (4 × 800 ms).
    expect(elapsed).toBeLessThan(2400);
    await until(() => pool!.threads === 1, 5000);
    // The remaining thread still runs tasks, and the pool can grow again.
    const again = await Promise.all([0, 1].map((i) => pool!.run(sleepTask(10 + i, 300), 10)));
    expect(again.map((outcome) => outcome.ok)).toEqual([true, true]);
    expect(pool.threads).toBe(2);
  }, 20_000);

  it('threads after the first load the shared type-stripped modules, with stack traces at the right .ts lines', async () => {
    pool = new ExecutorPool({ size: 3, tasksUrl });
    await pool.start();
    // Hold the first thread, so the failing task runs on a thread started later.
    const held = pool.run(sleepTask(20, 600), 10);
    const failing: ThreadTask = {
      id: 'fail-1',
      name: 'test.fail',
      argsJson: JSON.stringify(['from a later thread']),
      kwargsJson: '{}',
      attempt: 1,
    };
    const outcome = await pool.run(failing, 10);
    expect(pool.threads).toBeGreaterThan(1);
    expect(outcome).toMatchObject({
      ok: false,
      error: { type: 'TypeError', message: 'from a later thread' },
    });
    const throwLine =
      readFileSync('test/fixtures/tasks.ts', 'utf8')
        .split('\n')
        .findIndex((line) => line.includes('throw new TypeError(message)')) + 1;
    expect(outcome.ok ? '' : outcome.error.stack).toContain(`test/fixtures/tasks.ts:${throwLine}:`);
    expect((await held).ok).toBe(true);
  }, 20_000);

  it('a slow task in a batch of short ones hands the rest to another thread', async () => {
    pool = new ExecutorPool({ size: 2, tasksUrl });
    await pool.start();
    const noop = (id: string): ThreadTask => ({
      id,
      name: 'test.noop',
      argsJson: '[]',
      kwargsJson: '{}',
      attempt: 1,
    });
    // Teach the pool that tasks are sub-millisecond, so it queues many per thread.
    await Promise.all(Array.from({ length: 400 }, (_, i) => pool!.run(noop(`warm-${i}`), 10)));
    const started = performance.now();
    const slow = pool.run(sleepTask(30, 2000), 10);
    const quick = Array.from({ length: 30 }, (_, i) =>
      pool!.run(noop(`quick-${i}`), 10).then((outcome) => ({ outcome, at: performance.now() - started })),
    );
    const finished = await Promise.all(quick);
    expect(finished.every(({ outcome }) => outcome.ok)).toBe(true);
    // Not behind the 2 s task: released after ~50 ms and run on a second thread.
    expect(Math.max(...finished.map(({ at }) => at))).toBeLessThan(1500);
    expect(pool.threads).toBe(2);
    expect((await slow).ok).toBe(true);
  }, 20_000);

  it('a batch of tasks and their results cross to the thread and back intact, in order', async () => {
    pool = new ExecutorPool({ size: 1, tasksUrl });
    await pool.start();
    // Characters JSON escapes or that are easy to mangle on the way: quotes, backslashes,
    // line and paragraph separators, control characters, astral-plane emoji, an unpaired
    // surrogate's neighbour, and a long string.
    const odd = ['"q"', 'back\\slash', '\u2028\u2029', '\u0001\t\n', '🧵 ü', 'x'.repeat(10_000)];
    const tasks: ThreadTask[] = odd.map((value, i) => ({
      id: `echo-${i}`,
      name: 'test.echo',
      argsJson: JSON.stringify([value, i]),
      kwargsJson: JSON.stringify({ [value.slice(0, 20)]: value }),
      attempt: i + 1,
    }));
    const outcomes = await Promise.all(tasks.map((task) => pool!.run(task, 10)));
    outcomes.forEach((outcome, i) => {
      if (!outcome.ok) throw new Error(`task ${i} failed: ${outcome.error.message}`);
      const value = odd[i] as string;
      expect(JSON.parse(outcome.json)).toEqual({
        args: [value, i],
        kwargs: { [value.slice(0, 20)]: value },
        attempt: i + 1,
        taskId: `echo-${i}`,
      });
    });
  });
});

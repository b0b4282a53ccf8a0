/**
 * The execution thread pool on its own (real worker threads, no database): it grows for tasks
 * that hold their threads, runs them side by side, and gives idle threads back.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ExecutorPool } from '../worker/container/executor-pool.ts';
import type { ThreadTask } from '../worker/container/thread-protocol.ts';
import { waitFor } from './support/wait-for.ts';

const tasksUrl = pathToFileURL('test/fixtures/tasks.ts').href;
let pool: ExecutorPool | undefined;
const execLog = process.env.EXEC_LOG;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
  if (execLog === undefined) delete process.env.EXEC_LOG;
  else process.env.EXEC_LOG = execLog;
});

const sleepTask = (i: number, ms: number): ThreadTask => ({
  id: `sleep-${i}`,
  name: 'test.sleep',
  argsJson: JSON.stringify([ms]),
  kwargsJson: '{}',
  attempt: 1,
  token: `sleep-${i}`,
});

/** A task that holds its thread until the test aborts it (test.sleep honours its AbortSignal). */
const holdTask = (id: string): ThreadTask => ({
  id,
  name: 'test.sleep',
  argsJson: JSON.stringify([600_000]),
  kwargsJson: '{}',
  attempt: 1,
  token: id,
});

/** Ids of the tasks that have started, in order: each appends to EXEC_LOG as it starts. */
async function startedTasks(log: string): Promise<string[]> {
  const text = await readFile(log, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[0]!);
}

describe('execution thread pool', () => {
  it('grows to its size for tasks that hold their threads, then retires idle threads down to one', async () => {
    // No clock in the assertions: the tasks hold their threads until the test releases them,
    // and every wait is for a state of the pool, however slow the machine.
    const dir = await mkdtemp(join(tmpdir(), 'etw-pool-'));
    try {
      const log = join(dir, 'started.log');
      process.env.EXEC_LOG = log; // threads copy the environment when they start
      pool = new ExecutorPool({ size: 4, tasksUrl, idleThreadMs: 300 });
      expect(await pool.start()).toContain('test.sleep');
      expect(pool.threads).toBe(1);
      const holding = ['hold-0', 'hold-1', 'hold-2', 'hold-3'];
      const held = holding.map((id) => pool!.run(holdTask(id), null));
      // Side by side: all four have started, and none can end before it is released.
      await waitFor(async () => (await startedTasks(log)).length === 4, {
        what: 'four held tasks to run side by side',
      });
      expect((await startedTasks(log)).sort()).toEqual(holding);
      expect(pool.threads).toBe(4);
      for (const id of holding) pool.abort(id, 'released by the test', 30_000);
      expect(await Promise.all(held)).toMatchObject(holding.map(() => ({ ok: false, aborted: true })));

      await waitFor(() => pool!.threads === 1, { what: 'idle threads to retire down to one' });
      // The remaining thread still runs tasks, and the pool can grow again.
      expect((await pool.run(sleepTask(10, 0), 10)).ok).toBe(true);
      const again = ['hold-4', 'hold-5'];
      const heldAgain = again.map((id) => pool!.run(holdTask(id), null));
      await waitFor(async () => (await startedTasks(log)).filter((id) => again.includes(id)).length === 2, {
        what: 'two more held tasks to run side by side',
      });
      expect(pool.threads).toBe(2);
      for (const id of again) pool.abort(id, 'released by the test', 30_000);
      expect(await Promise.all(heldAgain)).toMatchObject(again.map(() => ({ ok: false, aborted: true })));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);

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
      token: 'fail-1',
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
      token: id,
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
      token: `echo-${i}`,
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

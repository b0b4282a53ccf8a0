/**
 * The example tasks keep the original package's calls: `create_task("app.tasks.add_numbers",
 * args=[10, 20])` and `multiply_numbers` with `[2, 3]`, run through the same handler runner
 * every executor uses.
 */
import { describe, expect, it } from 'vitest';
import tasks from '../examples/tasks.ts';
import { runHandler } from '../src/core/execution/run-handler.ts';

async function run(name: string, args: unknown[]) {
  const outcome = await runHandler(
    tasks,
    { id: 'example', name, argsJson: JSON.stringify(args), kwargsJson: '{}', attempt: 1 },
    { signal: new AbortController().signal },
  );
  if (!outcome.ok) throw new Error(outcome.error.message);
  return JSON.parse(outcome.json) as unknown;
}

describe('examples/tasks.ts keeps the original signatures', () => {
  it('add_numbers takes two numbers, as in the original', async () => {
    expect(await run('app.tasks.add_numbers', [10, 20])).toBe(30);
  });

  it('multiply_numbers takes two numbers', async () => {
    expect(await run('app.tasks.multiply_numbers', [2, 3])).toBe(6);
  });
});

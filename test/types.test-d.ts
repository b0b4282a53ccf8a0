/**
 * Compile-time checks of typed clients: `createClient<typeof tasks>` rejects unknown names
 * and wrong arguments. Run by vitest's typecheck mode (every `@ts-expect-error` must error).
 */
import { describe, expectTypeOf, it } from 'vitest';
import { createClient } from '../client/index.ts';
import {
  defineTasks,
  type Task,
  type TaskArgs,
  type TaskContext,
  type TaskKwargs,
} from '../src/core/index.ts';

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- only its type is used
const tasks = defineTasks({
  'app.tasks.multiply_numbers': (a: number, b: number) => a * b,
  'app.tasks.send_email': async (to: string, ctx: TaskContext<{ subject: string }>) =>
    `${to}:${ctx.kwargs.subject}`,
  'app.tasks.cleanup': () => 0,
});

describe('typed client', () => {
  it('derives arguments and kwargs from handlers', () => {
    expectTypeOf<TaskArgs<(typeof tasks)['app.tasks.multiply_numbers']>>().toEqualTypeOf<
      [a: number, b: number]
    >();
    expectTypeOf<TaskArgs<(typeof tasks)['app.tasks.send_email']>>().toEqualTypeOf<[to: string]>();
    expectTypeOf<TaskKwargs<(typeof tasks)['app.tasks.send_email']>>().toEqualTypeOf<{ subject: string }>();
    expectTypeOf<TaskArgs<(typeof tasks)['app.tasks.cleanup']>>().toEqualTypeOf<[]>();
  });

  it('accepts right names and arguments and rejects wrong ones', () => {
    const client = createClient<typeof tasks>({ databaseUrl: 'postgresql://u:p@127.0.0.1/db' });
    void client.createTask('app.tasks.multiply_numbers', { args: [2, 3] });
    void client.createTask('app.tasks.send_email', { args: ['a@b.c'], kwargs: { subject: 'hi' } });
    void client.createTask('app.tasks.cleanup');
    void client.createTasks([
      { name: 'app.tasks.multiply_numbers', args: [1, 2] },
      { name: 'app.tasks.cleanup', priority: 1 },
    ]);

    // @ts-expect-error unknown task name
    void client.createTask('app.tasks.nope', { args: [] });
    // @ts-expect-error wrong argument type
    void client.createTask('app.tasks.multiply_numbers', { args: [2, '3'] });
    // @ts-expect-error missing argument
    void client.createTask('app.tasks.multiply_numbers', { args: [2] });
    // @ts-expect-error args are required when the handler takes arguments
    void client.createTask('app.tasks.multiply_numbers');
    // @ts-expect-error wrong kwargs
    void client.createTask('app.tasks.send_email', { args: ['a@b.c'], kwargs: { subject: 1 } });
    // @ts-expect-error unknown name in a batch
    void client.createTasks([{ name: 'app.tasks.other' }]);
  });

  it('an untyped client takes any name and JSON-ish arguments', () => {
    const client = createClient({ databaseUrl: 'postgresql://u:p@127.0.0.1/db' });
    void client.createTask('anything.at.all', { args: [1, 'two', { three: 3 }] });
    expectTypeOf(client.waitForCompletion('id')).resolves.toEqualTypeOf<Task | null>();
  });
});

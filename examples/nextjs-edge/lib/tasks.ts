import { defineTasks, NonRetryableError, type TaskContext } from 'edge-task-worker';

/**
 * The handlers `app/api/run/route.ts` runs when the scheduler calls it. Web-standard code
 * only, so the same module also runs in a container worker (`npx task-worker run --tasks
 * ./lib/tasks.ts`) or the Cloudflare cron Worker, against the same database.
 */
export default defineTasks({
  'app.tasks.multiply_numbers': (a: number, b: number) => a * b,

  'app.tasks.add_numbers': (a: number, b: number) => a + b,

  /** Refuses (without retrying) an empty name. */
  'app.tasks.greet': (ctx: TaskContext<{ name: string }>) => {
    if (!ctx.kwargs.name) throw new NonRetryableError('kwargs.name is required');
    return `Hello, ${ctx.kwargs.name}!`;
  },
});

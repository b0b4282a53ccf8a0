/**
 * Example tasks, run by `task-worker dev`, the Dockerfile, the Cloudflare Worker and the README.
 * A handler gets its positional arguments, then a context: `ctx.kwargs`, `ctx.signal`
 * (aborted at the timeout), `ctx.taskId`, `ctx.attempt`, `ctx.progress(value)`.
 */
import { defineTasks, NonRetryableError, type TaskContext } from '../src/core/index.ts';

// Web-standard code only: the same registry runs in the container worker and in the
// Cloudflare cron Worker (worker/cloudflare.ts).
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}

export default defineTasks({
  /** The original's example: `create_task("app.tasks.multiply_numbers", args=[2, 3])`. */
  'app.tasks.multiply_numbers': (a: number, b: number) => a * b,

  /** The original's other example: `create_task("app.tasks.add_numbers", args=[10, 20])`. */
  'app.tasks.add_numbers': (a: number, b: number) => a + b,

  /** Sleeps `seconds`, reporting progress each second; stops early when aborted. */
  'app.tasks.sleep': async (seconds: number, ctx: TaskContext) => {
    for (let i = 0; i < seconds; i++) {
      await ctx.progress({ done: i, of: seconds });
      await sleep(1000, ctx.signal);
    }
    return { slept: seconds };
  },

  /** Fails its first attempt: create it with `maxRetries: 1` to watch a retry succeed. */
  'app.tasks.flaky': (ctx: TaskContext) => {
    if (ctx.attempt === 1) throw new Error('first attempt fails on purpose');
    return `succeeded on attempt ${ctx.attempt}`;
  },

  /** Greets someone by keyword argument; refuses (without retrying) an empty name. */
  'app.tasks.greet': (ctx: TaskContext<{ name: string }>) => {
    if (!ctx.kwargs.name) throw new NonRetryableError('kwargs.name is required');
    return `Hello, ${ctx.kwargs.name}!`;
  },
});

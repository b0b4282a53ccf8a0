/**
 * Opt-in `--isolation none`: handlers run on the worker's main thread, with no per-task
 * message passing. Faster for tiny tasks; the price is that a timeout can only abort the
 * handler's `AbortSignal` (the outcome is recorded as a timeout at once, a late result is
 * ignored) and a busy loop blocks the whole worker, heartbeats included, until its lease
 * expires and another worker takes over. Use the default thread isolation for untrusted or
 * CPU-heavy handlers.
 * @module
 */
import type { TaskRegistry } from '../../src/core/define-tasks.ts';
import { runHandler } from '../../src/core/execution/run-handler.ts';
import type { Executor, ExecutorOptions, Outcome } from './executor.ts';
import { loadDeclaredSchedules, loadTasks, type DeclaredSchedules } from './load-tasks.ts';
import type { ThreadTask } from './thread-protocol.ts';

interface Running {
  controller: AbortController;
  finish: (outcome: Outcome) => void;
}

export class InProcessExecutor implements Executor {
  declaredSchedules: DeclaredSchedules | undefined;
  private registry: TaskRegistry = {};
  private readonly running = new Map<string, Running>();
  private readonly options: ExecutorOptions;
  private closed = false;

  constructor(options: ExecutorOptions) {
    this.options = options;
  }

  async start(): Promise<string[]> {
    this.registry = await loadTasks(this.options.tasksUrl);
    this.declaredSchedules = await loadDeclaredSchedules(this.options.tasksUrl);
    return Object.keys(this.registry);
  }

  get freeSlots(): number {
    return this.closed ? 0 : this.options.size - this.running.size;
  }

  run(task: ThreadTask, timeoutSeconds: number | null): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      const controller = new AbortController();
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const finish = (outcome: Outcome) => {
        if (!this.running.has(task.token)) return;
        this.running.delete(task.token);
        clearTimeout(timer);
        resolve(outcome);
        this.options.onSlotFree?.();
      };
      this.running.set(task.token, { controller, finish });
      if (timeoutSeconds !== null) {
        timer = setTimeout(() => {
          const message = `Task timed out after ${timeoutSeconds} s`;
          controller.abort(new DOMException(message, 'TimeoutError'));
          const error = { message, type: 'TimeoutError', stack: null, nonRetryable: false };
          finish({ ok: false, error, duration: (performance.now() - started) / 1000, timedOut: true });
        }, timeoutSeconds * 1000);
      }
      const trace = this.options.runTrace;
      const traceparent = trace?.traceparent(task);
      const run = () =>
        runHandler(this.registry, task, {
          signal: controller.signal,
          onProgress: (json) => this.options.onProgress?.(task.token, json),
          traceparent,
        });
      // Traced: the handler runs with the run's span active, so the spans it makes are its children.
      void (trace ? trace.within(task, run) : run()).then(finish);
    });
  }

  abort(token: string, reason: string): void {
    const entry = this.running.get(token);
    if (!entry) return;
    entry.controller.abort(new DOMException(reason, 'AbortError'));
    entry.finish({
      ok: false,
      error: { message: reason, type: 'AbortError', stack: null, nonRetryable: false },
      duration: 0,
      aborted: true,
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const token of [...this.running.keys()]) this.abort(token, 'Worker stopped');
  }
}

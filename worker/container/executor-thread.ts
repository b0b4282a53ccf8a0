/**
 * Entry of an execution thread: loads the tasks module once, then runs one task at a time.
 * The main thread kills this thread (a busy loop included) when a task overstays its timeout.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { TaskContext } from '../../src/define-tasks.ts';
import { toStrictJson } from '../../src/json-value.ts';
import type { JsonValue } from '../../src/task.ts';
import { loadTasks } from './load-tasks.ts';
import { serializeError, unknownTaskError } from '../../src/task-error.ts';
import type { FromThread, ThreadData, ThreadTask, ToThread } from './thread-protocol.ts';

const port = parentPort;
if (!port) throw new Error('executor-thread.ts must run in a worker thread');
const { tasksUrl } = workerData as ThreadData;
const send = (message: FromThread) => port.postMessage(message);
const controllers = new Map<string, AbortController>();

async function run(
  registry: Record<string, (...params: unknown[]) => unknown>,
  task: ThreadTask,
): Promise<void> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  const handler = Object.hasOwn(registry, task.name) ? registry[task.name] : undefined;
  if (!handler) {
    send({
      type: 'done',
      id: task.id,
      ok: false,
      error: unknownTaskError(task.name, Object.keys(registry)),
      duration: 0,
    });
    return;
  }
  const controller = new AbortController();
  controllers.set(task.id, controller);
  const ctx: TaskContext<Record<string, unknown>> = {
    kwargs: task.kwargs,
    signal: controller.signal,
    taskId: task.id,
    name: task.name,
    attempt: task.attempt,
    async progress(value: JsonValue) {
      send({ type: 'progress', id: task.id, json: toStrictJson(value, 'progress') });
    },
  };
  try {
    const value = await handler(...task.args, ctx);
    let json: string;
    try {
      json = value === undefined ? 'null' : toStrictJson(value, 'result');
    } catch (error) {
      send({ type: 'done', id: task.id, ok: false, error: serializeError(error, true), duration: seconds() });
      return;
    }
    send({ type: 'done', id: task.id, ok: true, json, duration: seconds() });
  } catch (error) {
    send({ type: 'done', id: task.id, ok: false, error: serializeError(error), duration: seconds() });
  } finally {
    controllers.delete(task.id);
  }
}

try {
  const registry = (await loadTasks(tasksUrl)) as Record<string, (...params: unknown[]) => unknown>;
  port.on('message', (message: ToThread) => {
    if (message.type === 'run') void run(registry, message.task);
    else controllers.get(message.id)?.abort(new DOMException(message.reason, 'AbortError'));
  });
  send({ type: 'ready', names: Object.keys(registry) });
} catch (error) {
  send({ type: 'load-error', error: serializeError(error) });
}

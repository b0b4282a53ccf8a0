/**
 * Entry of an execution thread: loads the tasks module once, then runs the tasks it is sent
 * one at a time, in order, reporting results in batches. The main thread kills this thread
 * (a busy loop included) when a task overstays its timeout.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { TaskRegistry } from '../../src/core/define-tasks.ts';
import { runHandler } from '../../src/core/execution/run-handler.ts';
import { serializeError } from '../../src/core/task-error.ts';
import { loadDeclaredSchedules, loadTasks } from './load-tasks.ts';
import { STRIPPED_MODULES } from './thread-boot.ts';
import {
  decodeTasks,
  encodeBatch,
  type FromThread,
  type ThreadData,
  type ThreadResult,
  type ThreadTask,
  type ToThread,
} from './thread-protocol.ts';

const port = parentPort;
if (!port) throw new Error('executor-thread.ts must run in a worker thread');
const { tasksUrl } = workerData as ThreadData;
const send = (message: FromThread) => port.postMessage(message);

// Results wait here until the thread yields (or FLUSH_MS passed), then go in one message.
// The bound keeps a result from sitting behind a long synchronous run of further tasks.
const FLUSH_MS = 5;
const queue: ThreadTask[] = [];
const controllers = new Map<string, AbortController>();
let outbox: ThreadResult[] = [];
let lastFlush = performance.now();
let flushScheduled = false;
let draining = false;

function flush(): void {
  flushScheduled = false;
  lastFlush = performance.now();
  if (outbox.length === 0) return;
  send({ type: 'done', results: encodeBatch(outbox) });
  outbox = [];
}

function report(result: ThreadResult): void {
  outbox.push(result);
  if (performance.now() - lastFlush >= FLUSH_MS) flush();
  else if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

async function drain(registry: TaskRegistry): Promise<void> {
  draining = true;
  for (let task = queue.shift(); task; task = queue.shift()) {
    const controller = controllers.get(task.token);
    if (!controller || controller.signal.aborted) {
      controllers.delete(task.token);
      report({ token: task.token, skipped: true });
      continue;
    }
    const outcome = await runHandler(registry, task, {
      signal: controller.signal,
      onProgress: (json) => send({ type: 'progress', token: task.token, json }),
    });
    controllers.delete(task.token);
    report({ token: task.token, ...outcome });
  }
  draining = false;
}

try {
  const registry = await loadTasks(tasksUrl);
  const schedules = await loadDeclaredSchedules(tasksUrl);
  port.on('message', (message: ToThread) => {
    if (message.type === 'run') {
      for (const task of decodeTasks(message.tasks)) {
        controllers.set(task.token, new AbortController());
        queue.push(task);
      }
      if (!draining) void drain(registry);
    } else if (message.type === 'release') {
      // The current task is taking long: give back the ones queued behind it (not started).
      const wanted = new Set(message.tokens);
      const released: string[] = [];
      for (let i = queue.length - 1; i >= 0; i--) {
        const task = queue[i]!;
        if (!wanted.has(task.token)) continue;
        queue.splice(i, 1);
        controllers.delete(task.token);
        released.push(task.token);
      }
      send({ type: 'released', tokens: released });
    } else {
      controllers.get(message.token)?.abort(new DOMException(message.reason, 'AbortError'));
    }
  });
  const stripped = (globalThis as Record<symbol, unknown>)[STRIPPED_MODULES] as
    Record<string, string> | undefined;
  send({ type: 'ready', names: Object.keys(registry), stripped: stripped ?? {}, schedules });
} catch (error) {
  send({ type: 'load-error', error: serializeError(error) });
}

/**
 * Starting one execution thread: a `Worker` evaluated from the boot source (thread-boot.ts,
 * which hands later threads the first thread's type-stripped TypeScript), with its messages
 * decoded and routed to named handlers. What the handlers do is executor-pool.ts's business.
 * @module
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { THREAD_BOOT_SOURCE, type ThreadBoot } from './thread-boot.ts';
import {
  decodeResults,
  type FromThread,
  type SerializedError,
  type ThreadData,
  type ThreadResult,
} from './thread-protocol.ts';
import type { DeclaredSchedules } from './load-tasks.ts';

const threadFile = new URL(`./executor-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/** What a thread can tell the main thread, one handler per message (and per thread event). */
export interface ThreadEvents {
  /** The tasks module loaded: its task names, and the modules the thread type-stripped. */
  ready(names: string[], stripped: Record<string, string>, schedules?: DeclaredSchedules): void;
  /** The tasks module failed to load. */
  loadError(error: SerializedError): void;
  progress(token: string, json: string): void;
  /** Tasks finished (or skipped), in one batch. */
  results(results: ThreadResult[]): void;
  /** Tasks handed back, not started, after a `release`. */
  released(tokens: string[]): void;
  /** The thread could not start or threw outside a task. */
  error(error: Error): void;
  exit(code: number): void;
}

/**
 * Starts a thread that loads `tasksUrl`, reusing the modules in `stripped` (type-stripped by
 * an earlier thread, by URL).
 */
export function startThread(
  tasksUrl: string,
  stripped: Record<string, string>,
  events: ThreadEvents,
): Worker {
  const boot: ThreadBoot = { entryUrl: threadFile.href, stripped };
  const thread = new Worker(THREAD_BOOT_SOURCE, {
    eval: true,
    workerData: { tasksUrl, boot } satisfies ThreadData & { boot: ThreadBoot },
  });
  thread.on('message', (message: FromThread) => {
    switch (message.type) {
      case 'ready':
        return events.ready(message.names, message.stripped, message.schedules);
      case 'load-error':
        return events.loadError(message.error);
      case 'progress':
        return events.progress(message.token, message.json);
      case 'done':
        return events.results(decodeResults(message.results));
      case 'released':
        return events.released(message.tokens);
    }
  });
  thread.on('error', (error) => events.error(error));
  thread.on('exit', (code) => events.exit(code));
  return thread;
}

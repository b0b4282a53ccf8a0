/**
 * Runs `task-worker run` as a real child process (real signals, real kill -9) and follows its
 * JSON log lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface WorkerProcess {
  child: ChildProcess;
  /** Every JSON log line so far. */
  events: Array<Record<string, unknown>>;
  /** Resolves with the first log line whose `event` matches (waits for future lines too). */
  waitFor(
    event: string,
    predicate?: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  stderr(): string;
}

export function startWorkerProcess(options: {
  databaseUrl: string;
  schema: string;
  args?: string[];
  env?: Record<string, string>;
}): WorkerProcess {
  const child = spawn(
    process.execPath,
    [
      'bin/task-worker.js',
      'run',
      '--tasks',
      'test/fixtures/tasks.ts',
      '--log-format',
      'json',
      ...(options.args ?? []),
    ],
    {
      env: {
        ...process.env,
        DATABASE_URL: options.databaseUrl,
        TASK_WORKER_SCHEMA: options.schema,
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const events: Array<Record<string, unknown>> = [];
  const waiters: Array<{
    event: string;
    predicate: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }> = [];
  let buffer = '';
  let errors = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      events.push(parsed);
      for (const waiter of [...waiters]) {
        if (waiter.event === parsed.event && waiter.predicate(parsed)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(parsed);
        }
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return {
    child,
    events,
    exited,
    stderr: () => errors,
    waitFor(event, predicate = () => true, timeoutMs = 20_000) {
      const seen = events.find((line) => line.event === event && predicate(line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`worker did not log "${event}" within ${timeoutMs} ms; stderr: ${errors}`)),
          timeoutMs,
        );
        waiters.push({
          event,
          predicate,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
  };
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false | null>,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * A worker started as a child process whose stdout carries JSON lines: waits for the line
 * that says it is ready, keeps reading (so the pipe never fills and blocks the child), stops
 * it with SIGTERM.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildWorker {
  readonly pid: number;
  /** Resolves when a JSON line with `event === name` was printed. */
  waitForEvent(name: string, timeoutMs: number): Promise<void>;
  /** SIGTERM, then waits for the exit (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<number | string>;
}

export function startChildWorker(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): ChildWorker {
  const child: ChildProcess = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${command} ${args.join(' ')}`);
  const seen = new Set<string>();
  const waiters: Array<{ name: string; resolve: () => void }> = [];
  let buffer = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      const event = /"event":"([^"]+)"/.exec(line)?.[1];
      if (!event || seen.has(event)) continue;
      seen.add(event);
      for (const waiter of waiters.filter((w) => w.name === event)) waiter.resolve();
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return {
    pid: child.pid,
    waitForEvent(name, timeoutMs) {
      if (seen.has(name)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`child did not print "${name}" within ${timeoutMs} ms; stderr: ${stderr}`)),
          timeoutMs,
        );
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`child exited (${code}) before printing "${name}"; stderr: ${stderr}`));
        });
        waiters.push({
          name,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    async stop(timeoutMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

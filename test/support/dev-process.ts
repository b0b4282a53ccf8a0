/**
 * Starts `task-worker dev` as a child process on free ports and reads the environment it
 * prints, as an edge app's developer would copy it. Also: the checks that nothing of it is
 * left behind once it has stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { freePort } from './services.ts';

export interface DevProcess {
  child: ChildProcess;
  /** The printed environment: DATABASE_URL, NEON_FETCH_ENDPOINT, UPSTASH_REDIS_REST_URL, ... */
  env: Record<string, string>;
  ports: Record<string, number>;
  output: () => string;
  /** Exit code, or the signal that ended the process. */
  exited: Promise<number | NodeJS.Signals | null>;
  /** SIGINT to the process (the whole group when `detached`), then its exit code or signal. */
  stop(): Promise<number | NodeJS.Signals | null>;
}

export async function freeDevPorts(): Promise<Record<string, number>> {
  const ports: Record<string, number> = {};
  for (const name of ['port', 'neon-port', 'upstash-port', 'postgres-port']) ports[name] = await freePort();
  return ports;
}

/**
 * How to start it: `cli` is `node bin/task-worker.js dev`; `node22` the same through
 * scripts/node22.mjs; `npm` is `npm start --` (npm, its shell, node22.mjs, the CLI).
 */
export type DevLauncher = 'cli' | 'node22' | 'npm';

export async function startDevProcess(options: {
  dataDir: string;
  ports: Record<string, number>;
  args?: string[];
  env?: Record<string, string | undefined>;
  /**
   * Tasks module for its worker, or `false` for none (default: examples/tasks.ts, unless `args`
   * has --tasks or --no-worker; npm start passes it itself).
   */
  tasks?: string | false;
  launcher?: DevLauncher;
  /** Leads its own process group, as a command started from a terminal does (default: false). */
  detached?: boolean;
  /** Wait for the ready line (default: true). */
  waitReady?: boolean;
}): Promise<DevProcess> {
  const launcher = options.launcher ?? 'cli';
  const ownWorkerArgs = options.args?.some((arg) => arg === '--tasks' || arg === '--no-worker');
  const tasks = options.tasks ?? (launcher === 'npm' || ownWorkerArgs ? false : 'examples/tasks.ts');
  const args = [
    '--data-dir',
    options.dataDir,
    ...Object.entries(options.ports).flatMap(([name, port]) => [`--${name}`, String(port)]),
    ...(tasks ? ['--tasks', tasks] : []),
    ...(options.args ?? []),
  ];
  const env: Record<string, string | undefined> = {
    ...process.env,
    DATABASE_URL: undefined,
    REDIS_URL: undefined,
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
  };
  Object.assign(env, options.env);
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  const [command, commandArgs] =
    launcher === 'npm'
      ? ['npm', ['start', '--silent', '--', ...args]]
      : launcher === 'node22'
        ? [process.execPath, ['scripts/node22.mjs', 'node', 'bin/task-worker.js', 'dev', ...args]]
        : [process.execPath, ['bin/task-worker.js', 'dev', ...args]];
  const child = spawn(command, commandArgs as string[], {
    env: env as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal)),
  );
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(options.detached ? -child.pid! : child.pid!, name);
    } catch {
      // already gone
    }
  };
  const deadline = Date.now() + 60_000;
  while (options.waitReady !== false && !output.includes('edge-task-worker dev is ready')) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      signal('SIGKILL');
      throw new Error(`task-worker dev did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // The environment block is printed in the same write as the ready line.
  const printed = Object.fromEntries(
    [...output.matchAll(/^ {2}([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]),
  );
  return {
    child,
    env: printed,
    ports: options.ports,
    output: () => output,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) signal('SIGINT');
      return await exited;
    },
  };
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Whether a live process of group `pgid` is left. An exited one that its new parent, the
 * machine's init, has not reaped yet (a zombie) is not counted: some inits reap only every few
 * seconds.
 */
export async function groupAlive(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid pgrp ...: comm may contain spaces and parentheses.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') return true;
  }
  return false;
}

/** Command lines of the processes (any user) that mention `text`, e.g. a data folder. */
export async function processesMentioning(text: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const command = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (command.includes(text)) found.push(`${entry}: ${command.replaceAll('\0', ' ').trim()}`);
  }
  return found;
}

/** Polls `check` until it is true or `timeoutMs` passed; returns its last answer. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

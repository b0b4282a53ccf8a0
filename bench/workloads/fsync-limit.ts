/**
 * The physical limit of a durable enqueue on this machine: what one committed single-row insert
 * costs with `synchronous_commit on`, next to which the latency workload's enqueue → start times
 * are read. Three measurements, none of them edge-task-worker's code:
 *
 * - `pg_test_fsync` (the server's own binary, matching its major version): one 8 kB write plus
 *   the `wal_sync_method` in use, on a file in the same file system as the data directory when
 *   that can be checked; the disk's floor, without Postgres.
 * - `pgbench`, one client, a script of one `insert` into a one-column table, prepared, back to
 *   back for 5 × fsyncSeconds: each transaction's latency from its per-transaction log.
 * - From this process over node-postgres (as every system's client talks to Postgres): a
 *   `select 1` and the same one-row insert, alternating, 20 ms apart as the latency workload's
 *   samples are (an idle connection and an idle WAL writer before each call).
 * @module
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createPgDatabase } from '../../src/adapters/node/pg-database.ts';
import type { Database } from '../../src/core/database.ts';
import type { BenchSizes } from '../bench-options.ts';
import type { BenchNamespaces } from '../bench-namespaces.ts';
import type { ProgressDisplay } from '../progress-display.ts';
import { formatNumber, type TableStyle } from '../report/format-results.ts';
import { markdownTable, textTable } from '../report/text-table.ts';
import { percentile } from '../sample-stats.ts';
import { schemaDrop } from '../sql/bench-statements.ts';
import type { BenchEnvironment } from '../systems/queue-system.ts';

const run = promisify(execFile);
const SPACING_MS = 20;
const WARM_UP = 10;

/** Latencies of one measurement, in ms. */
export interface LatencySummary {
  samples: number;
  p50: number;
  p99: number;
  mean: number;
}

export interface FsyncLimitResult {
  walSyncMethod: string;
  /** pg_test_fsync: the one-8kB-write line of the wal_sync_method in use. */
  pgTestFsync?: {
    binary: string;
    file: string;
    sameFileSystem: boolean | undefined;
    opsPerSecond: number;
    usPerOp: number;
  };
  /** pgbench, one client, one-row insert per transaction, back to back. */
  pgbench?: LatencySummary & { tps: number };
  /** node-postgres, 20 ms apart. */
  selectOne?: LatencySummary;
  insertOne?: LatencySummary;
  errors: string[];
}

function summarize(values: number[]): LatencySummary {
  return {
    samples: values.length,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    mean: values.reduce((sum, value) => sum + value, 0) / values.length,
  };
}

async function serverBinary(db: Database, name: string): Promise<string> {
  const { rows } = await db.query<{ major: number }>(
    `select current_setting('server_version_num')::int / 10000 as major`,
  );
  const binary = `/usr/lib/postgresql/${rows[0]?.major}/bin/${name}`;
  await stat(binary);
  return binary;
}

async function pgTestFsync(
  db: Database,
  dir: string,
  seconds: number,
  walSyncMethod: string,
): Promise<FsyncLimitResult['pgTestFsync']> {
  const binary = await serverBinary(db, 'pg_test_fsync');
  const { rows } = await db.query<{ dir: string }>(`select current_setting('data_directory') as dir`);
  const file = join(dir, 'pg_test_fsync.out');
  const dataDevice = await stat(dirname(rows[0]?.dir ?? '/nonexistent')).then(
    (s) => s.dev,
    () => undefined,
  );
  const sameFileSystem = dataDevice === undefined ? undefined : (await stat(dir)).dev === dataDevice;
  const { stdout } = await run(binary, ['-s', String(seconds), '-f', file], { maxBuffer: 1 << 20 });
  // The first section: "Compare file sync methods using one 8kB write".
  const section = stdout.split(/\n\s*\n/).find((part) => /one 8kB write/.test(part)) ?? '';
  const line = new RegExp(`^\\s*${walSyncMethod}\\s+([\\d.]+) ops/sec\\s+(\\d+) usecs/op`, 'm').exec(section);
  if (!line) throw new Error(`pg_test_fsync printed no ${walSyncMethod} line:\n${stdout}`);
  return { binary, file, sameFileSystem, opsPerSecond: Number(line[1]), usPerOp: Number(line[2]) };
}

async function pgbench(
  db: Database,
  environment: BenchEnvironment,
  dir: string,
  table: string,
  seconds: number,
): Promise<FsyncLimitResult['pgbench']> {
  const binary = await serverBinary(db, 'pgbench');
  const script = join(dir, 'insert.sql');
  await writeFile(script, `insert into ${table} (v) values (:client_id);\n`);
  const args = ['-n', '-c', '1', '-j', '1', '-M', 'prepared', '-T', String(seconds), '-f', script];
  args.push('-l', `--log-prefix=${join(dir, 'pgbench')}`, environment.databaseUrl);
  const env = { ...process.env, PGOPTIONS: '-c synchronous_commit=on' };
  const { stdout } = await run(binary, args, { cwd: dir, env, maxBuffer: 1 << 20 });
  const log = (await readdir(dir)).find((name) => name.startsWith('pgbench.'));
  if (!log) throw new Error(`pgbench wrote no log:\n${stdout}`);
  // Per transaction: client_id transaction_no time_us script_no time_epoch time_us_part.
  const latencies = (await readFile(join(dir, log), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => Number(line.split(' ')[2]) / 1000);
  const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? NaN);
  return { ...summarize(latencies), tps };
}

async function spacedRoundTrips(
  db: Database,
  table: string,
  samples: number,
): Promise<Pick<FsyncLimitResult, 'selectOne' | 'insertOne'>> {
  const selects: number[] = [];
  const inserts: number[] = [];
  const time = async (into: number[] | undefined, statement: string, values?: unknown[]) => {
    const started = performance.now();
    await db.query(statement, values);
    into?.push(performance.now() - started);
    await sleep(SPACING_MS);
  };
  for (let i = 0; i < WARM_UP + samples; i++) {
    const counted = i >= WARM_UP;
    await time(counted ? selects : undefined, 'select 1');
    await time(counted ? inserts : undefined, `insert into ${table} (v) values ($1)`, [i]);
  }
  return { selectOne: summarize(selects), insertOne: summarize(inserts) };
}

export async function fsyncLimitWorkload(context: {
  environment: BenchEnvironment;
  sizes: BenchSizes;
  namespaces: BenchNamespaces;
  progress: ProgressDisplay;
}): Promise<FsyncLimitResult> {
  const { environment, sizes } = context;
  const db = createPgDatabase({
    connectionString: environment.databaseUrl,
    max: 1,
    applicationName: 'bench-fsync',
  });
  const schema = context.namespaces.next('fsync');
  const table = `${schema}.inserts`;
  const dir = await mkdtemp(join(tmpdir(), 'bench-fsync-'));
  const result: FsyncLimitResult = { walSyncMethod: 'unknown', errors: [] };
  const attempt = async (what: string, fn: () => Promise<void>) => {
    const step = context.progress.start('fsync-limit', what, '');
    await fn().then(
      () => step.done('done'),
      (error: unknown) => {
        result.errors.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
        step.done(`FAILED: ${result.errors.at(-1)}`);
      },
    );
  };
  try {
    await db.query(`set synchronous_commit = on`);
    const { rows } = await db.query<{ method: string }>(
      `select current_setting('wal_sync_method') as method`,
    );
    result.walSyncMethod = rows[0]?.method ?? 'unknown';
    await db.query(`create schema ${schema}`);
    await db.query(`create table ${table} (id bigint generated always as identity primary key, v int)`);
    await attempt('node-postgres round trips', async () => {
      Object.assign(result, await spacedRoundTrips(db, table, sizes.fsyncSamples));
    });
    await attempt('pgbench insert', async () => {
      result.pgbench = await pgbench(db, environment, dir, table, 5 * sizes.fsyncSeconds);
    });
    await attempt('pg_test_fsync', async () => {
      result.pgTestFsync = await pgTestFsync(db, dir, sizes.fsyncSeconds, result.walSyncMethod);
    });
  } finally {
    await db.query(schemaDrop(schema)).catch(() => undefined);
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
  return result;
}

export function formatFsyncLimit(result: FsyncLimitResult, style: TableStyle): string {
  const ms = (value: number) => formatNumber(value, 2);
  const row = (what: string, summary: LatencySummary | undefined, note: string) =>
    summary
      ? [what, ms(summary.p50), ms(summary.p99), ms(summary.mean), String(summary.samples), note]
      : [what, '–', '–', '–', '0', note];
  const fsync = result.pgTestFsync;
  const rows = [
    fsync
      ? [
          'pg_test_fsync, one 8 kB write + ' + result.walSyncMethod,
          '–',
          '–',
          ms(fsync.usPerOp / 1000),
          '–',
          `${formatNumber(fsync.opsPerSecond, 0)} ops/s${fsync.sameFileSystem === false ? ', not on the data directory file system' : ''}`,
        ]
      : ['pg_test_fsync', '–', '–', '–', '0', 'failed'],
    row(
      'pgbench, 1 client, one-row insert, back to back',
      result.pgbench,
      result.pgbench ? `${formatNumber(result.pgbench.tps, 0)} tps` : 'failed',
    ),
    row('node-postgres select 1, 20 ms apart', result.selectOne, 'round trip, no commit'),
    row('node-postgres one-row insert, 20 ms apart', result.insertOne, "round trip + fsync'd commit"),
  ];
  const header = ['what', 'p50 ms', 'p99 ms', 'mean ms', 'samples', ''];
  const table = style === 'markdown' ? markdownTable(header, rows) : textTable(header, rows);
  const errors = result.errors.map((error) => `\nFAILED: ${error}`).join('');
  return `${style === 'markdown' ? '' : '## The fsync limit: one committed single-row insert\n'}${table}${errors}`;
}

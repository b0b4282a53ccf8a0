/**
 * Idle cost: how many transactions a worker with nothing to do makes Postgres run, per minute.
 * Every subject (idle-subjects.ts) runs at once, each on its own database, so the whole
 * workload takes one window: setup, a warm-up (start-up queries are not counted), then
 * `xact_commit + xact_rollback` and `tup_returned` of each database are read from
 * pg_stat_database at the start of the window, every minute, and at its end; the Redis-based
 * subjects' commands from their private server's INFO commandstats. The bench reads the
 * statistics over a connection to the `postgres` database, which is not counted.
 *
 * Postgres (15+) flushes a backend's counters when it goes idle, at most once a second, or up to
 * 10 s later if it flushed less than a second before: a reading can miss the last seconds of a
 * subject's activity, at the start as at the end of the window, so the counts are exact to within
 * about 10 s of activity.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createPgDatabase } from '../../src/adapters/node/pg-database.ts';
import type { Database } from '../../src/core/database.ts';
import type { ProgressDisplay } from '../progress-display.ts';
import { formatNumber, type TableStyle } from '../report/format-results.ts';
import { markdownTable, textTable } from '../report/text-table.ts';
import type { BenchEnvironment, SystemDefinition } from '../systems/queue-system.ts';
import { databaseUrl, idleSubjects, type IdleSubject } from './idle-subjects.ts';

const WARM_UP_MS = 10_000;
const MINUTE_MS = 60_000;

interface Reading {
  xacts: number;
  tupReturned: number;
  backends: number;
  redisCommands?: number;
}

export interface IdleResult {
  label: string;
  system: string;
  settings: string;
  database: string | undefined;
  minutes: number;
  /** Per minute over the window. */
  transactionsPerMinute?: number;
  tuplesReturnedPerMinute?: number;
  redisCommandsPerMinute?: number;
  /** Transactions in each whole minute of the window. */
  perMinute: number[];
  /** Connections it held to its database at the end. */
  backends?: number;
  error?: string;
}

const STATS = `
select d.datname as name, (d.xact_commit + d.xact_rollback)::float8 as xacts, d.tup_returned::float8 as tup_returned,
       (select count(*) from pg_stat_activity a where a.datname = d.datname)::int as backends
from pg_stat_database d where d.datname = any($1::text[])`;

async function readAll(
  admin: Database,
  subjects: readonly IdleSubject[],
): Promise<Map<IdleSubject, Reading>> {
  await admin.query('select pg_stat_clear_snapshot()');
  const names = subjects.flatMap((subject) => (subject.database ? [subject.database] : []));
  const { rows } = await admin.query<{ name: string; xacts: number; tup_returned: number; backends: number }>(
    STATS,
    [names],
  );
  const readings = new Map<IdleSubject, Reading>();
  for (const subject of subjects) {
    const row = rows.find((r) => r.name === subject.database);
    readings.set(subject, {
      xacts: row?.xacts ?? 0,
      tupReturned: row?.tup_returned ?? 0,
      backends: row?.backends ?? 0,
      redisCommands: await subject.redis?.commands(),
    });
  }
  return readings;
}

async function createDatabases(admin: Database, subjects: readonly IdleSubject[]): Promise<void> {
  for (const { database } of subjects) {
    if (!database) continue;
    if (!/^bench_idle_[a-z_]+$/.test(database)) throw new Error(`Refusing to create database ${database}`);
    await admin.query(`drop database if exists ${database} with (force)`);
    await admin.query(`create database ${database}`);
  }
}

async function dropDatabases(admin: Database, subjects: readonly IdleSubject[]): Promise<void> {
  for (const { database } of subjects) {
    if (database)
      await admin.query(`drop database if exists ${database} with (force)`).catch(() => undefined);
  }
}

function results(
  subjects: readonly IdleSubject[],
  readings: Array<Map<IdleSubject, Reading>>,
  minutes: number,
  errors: Map<IdleSubject, string>,
): IdleResult[] {
  return subjects.map((subject) => {
    const base = {
      label: subject.label,
      system: subject.system,
      settings: subject.settings,
      database: subject.database,
      minutes,
    };
    const error = errors.get(subject);
    if (error) return { ...base, perMinute: [], error };
    const series = readings.map((reading) => reading.get(subject)!);
    const first = series[0]!;
    const last = series.at(-1)!;
    const redis = first.redisCommands !== undefined && last.redisCommands !== undefined;
    return {
      ...base,
      transactionsPerMinute: subject.database ? (last.xacts - first.xacts) / minutes : undefined,
      tuplesReturnedPerMinute: subject.database
        ? (last.tupReturned - first.tupReturned) / minutes
        : undefined,
      redisCommandsPerMinute: redis ? (last.redisCommands! - first.redisCommands!) / minutes : undefined,
      perMinute: subject.database
        ? series.slice(1).map((reading, i) => reading.xacts - series[i]!.xacts)
        : [],
      backends: subject.database ? last.backends : undefined,
    };
  });
}

export async function idleWorkload(run: {
  environment: BenchEnvironment;
  systems: readonly SystemDefinition[];
  minutes: number;
  progress: ProgressDisplay;
}): Promise<IdleResult[]> {
  const subjects = idleSubjects(run.environment, run.systems);
  // Statistics and DDL go through the `postgres` database, which no subject uses.
  const admin = createPgDatabase({
    connectionString: databaseUrl(run.environment, 'postgres'),
    max: 1,
    applicationName: 'bench-idle',
  });
  const errors = new Map<IdleSubject, string>();
  const started: IdleSubject[] = [];
  try {
    await createDatabases(admin, subjects);
    for (const subject of subjects) {
      const step = run.progress.start('idle', subject.label, 'start');
      try {
        await subject.start();
        started.push(subject);
        step.done('ready');
      } catch (error) {
        errors.set(subject, error instanceof Error ? error.message : String(error));
        step.done(`FAILED: ${errors.get(subject)}`);
      }
    }
    const step = run.progress.start('idle', `${started.length} workers`, `${run.minutes} min`);
    step.detail('warm-up');
    await sleep(WARM_UP_MS);
    const readings = [await readAll(admin, subjects)];
    const windowMs = run.minutes * MINUTE_MS;
    const windowStart = performance.now();
    while (performance.now() - windowStart < windowMs - 1) {
      await sleep(Math.min(MINUTE_MS, windowMs - (performance.now() - windowStart)));
      readings.push(await readAll(admin, subjects));
      step.detail(`${((performance.now() - windowStart) / MINUTE_MS).toFixed(1)} of ${run.minutes} min`);
    }
    const minutes = (performance.now() - windowStart) / MINUTE_MS;
    const measured = results(subjects, readings, minutes, errors);
    step.done(measured.map((r) => `${r.label} ${r.transactionsPerMinute?.toFixed(1) ?? '–'}/min`).join(', '));
    return measured;
  } finally {
    for (const subject of started) {
      await subject
        .stop()
        .catch((error: unknown) => run.progress.note(`  stopping ${subject.label} failed: ${String(error)}`));
    }
    await dropDatabases(admin, subjects);
    await admin.close();
  }
}

export function formatIdle(results: readonly IdleResult[], style: TableStyle): string {
  const header = [
    'system / notifier',
    'transactions/min',
    'per minute',
    'tuples returned/min',
    'Redis commands/min',
    'connections',
  ];
  const number = (value: number | undefined, digits: number) =>
    value === undefined ? '–' : formatNumber(value, digits);
  const rows = results.map((r) =>
    r.error
      ? [r.label, `failed: ${r.error.split('\n')[0]}`, '', '', '', '']
      : [
          r.label,
          number(r.transactionsPerMinute, 1),
          r.perMinute.length > 0 ? r.perMinute.join(', ') : '–',
          number(r.tuplesReturnedPerMinute, 0),
          number(r.redisCommandsPerMinute, 1),
          r.backends === undefined ? '–' : String(r.backends),
        ],
  );
  const table = style === 'markdown' ? markdownTable(header, rows) : textTable(header, rows);
  const minutes = results[0]?.minutes ?? 0;
  return `${style === 'markdown' ? '' : `## Idle worker: queries over ${minutes.toFixed(1)} minutes\n`}${table}`;
}

/**
 * The conditions a run measured under, printed before the results and kept in the results
 * file: CPUs, memory, Node, the Postgres settings that decide commit cost, Redis, package
 * versions, and the load average (other people's test runs share the machine).
 * @module
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { Redis } from 'ioredis';
import { createPgDatabase } from '../../src/adapters/node/pg-database.ts';
import type { BenchOptions } from '../bench-options.ts';
import { redisConnectionOf } from '../redis-keys.ts';
import { serverSettings } from '../sql/bench-statements.ts';
import { SYSTEMS } from '../systems/all-systems.ts';
import type { BenchEnvironment } from '../systems/queue-system.ts';

export interface Conditions {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  /** 1-minute load average when the run started. */
  loadAverage: number;
  postgres: Record<string, string>;
  redis: string;
  packages: Record<string, string>;
  reps: number;
  quick: boolean;
  /** The checkout measured: commit and the files changed since (read-only git, no index refresh). */
  git: { commit: string; changedFiles: string[] };
}

function gitState(): Conditions['git'] {
  const run = (args: string[]) =>
    execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    return {
      commit: run(['rev-parse', '--short', 'HEAD']).trim(),
      changedFiles: run(['--no-optional-locks', 'status', '--porcelain', '--untracked-files=normal'])
        .split('\n')
        .filter(Boolean)
        .map((line) => line.slice(3)),
    };
  } catch {
    return { commit: 'unknown', changedFiles: [] };
  }
}

async function redisVersion(redisUrl: string): Promise<string> {
  const redis = new Redis({ ...redisConnectionOf(redisUrl), lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } finally {
    redis.disconnect();
  }
}

export async function collectConditions(
  environment: BenchEnvironment,
  options: BenchOptions,
): Promise<Conditions> {
  const db = createPgDatabase({
    connectionString: environment.databaseUrl,
    max: 1,
    applicationName: 'bench-admin',
  });
  let postgres: Record<string, string>;
  try {
    const { rows } = await db.query<Record<string, string>>(serverSettings);
    postgres = rows[0] ?? {};
  } finally {
    await db.close();
  }
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    node: process.version,
    loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    postgres,
    redis: await redisVersion(environment.redisUrl),
    packages: Object.fromEntries(Object.values(SYSTEMS).map((system) => [system.name, system.version])),
    reps: options.reps,
    quick: options.quick,
    git: gitState(),
  };
}

export function formatConditions(c: Conditions): string {
  const pg = c.postgres;
  return [
    `# edge-task-worker benchmark${c.quick ? ' (--quick)' : ''}, ${c.reps} repetition(s)`,
    `machine: ${c.cpus} × ${c.cpuModel}, ${c.memoryGiB} GiB, ${c.os}, load average ${c.loadAverage}`,
    `node ${c.node}; ${(pg.version ?? '').split(' on ')[0]}, fsync ${pg.fsync}, synchronous_commit ${pg.synchronous_commit}, ` +
      `wal_sync_method ${pg.wal_sync_method}, shared_buffers ${pg.shared_buffers}; redis ${c.redis}`,
    `packages: ${Object.entries(c.packages)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}`,
    `checkout: ${c.git.commit}${c.git.changedFiles.length > 0 ? ` + uncommitted changes in ${c.git.changedFiles.join(', ')}` : ''}`,
  ].join('\n');
}

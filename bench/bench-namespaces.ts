/**
 * Names of what one run creates (Postgres schemas, Redis key prefixes), all under
 * `bench_<run id>_`, and the clean-up that removes them even after a failed or interrupted run.
 * @module
 */
import { createPgDatabase } from '../src/adapters/node/pg-database.ts';
import { deleteRedisKeys } from './redis-keys.ts';
import { benchSchemaList, schemaDrop } from './sql/bench-statements.ts';
import type { BenchEnvironment, SystemName } from './systems/queue-system.ts';

const SHORT: Record<SystemName | 'claim' | 'fsync', string> = {
  'edge-task-worker': 'etw',
  'graphile-worker': 'gw',
  'pg-boss': 'pgb',
  bullmq: 'bmq',
  claim: 'claim',
  fsync: 'fsync',
};

export class BenchNamespaces {
  /** e.g. `bench_k3x9_` */
  readonly prefix: string;
  private counter = 0;

  constructor(runId: string = Math.random().toString(36).slice(2, 6)) {
    this.prefix = `bench_${runId}_`;
  }

  /** A fresh name for one system run, e.g. `bench_k3x9_pgb7`. */
  next(system: SystemName | 'claim' | 'fsync'): string {
    this.counter += 1;
    return `${this.prefix}${SHORT[system]}${this.counter}`;
  }

  /** Drops every schema and deletes every Redis key of this run; returns what it removed. */
  async removeAll(environment: BenchEnvironment): Promise<{ schemas: string[]; keys: number }> {
    const db = createPgDatabase({
      connectionString: environment.databaseUrl,
      max: 1,
      applicationName: 'bench-cleanup',
    });
    const schemas: string[] = [];
    try {
      const { rows } = await db.query<{ name: string }>(benchSchemaList, [this.prefix]);
      for (const { name } of rows) {
        await db.query(schemaDrop(name));
        schemas.push(name);
      }
    } finally {
      await db.close();
    }
    const keys = await deleteRedisKeys(environment.redisUrl, this.prefix);
    return { schemas, keys };
  }
}

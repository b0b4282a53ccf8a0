/**
 * Flow control across real worker processes (issue #15): three `task-worker run` processes at
 * --concurrency 4 each drain a queue limited to 3 running, a queue of keyed tasks (one running
 * per key) and a queue limited to 5 starts per second. The execution ledger read back from
 * the rows (started_at, finished_at) shows the limits held: 3 in flight at most (and reached),
 * one per key (while keys ran side by side), 5 starts in any one-second window at most.
 *
 * And a worker held back by a limit does not spin: it claims a few times per task while it
 * waits for a slot or the rate window, counted on the way to Postgres.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../src/core/database.ts';
import { createQueueLimitsClient } from '../src/core/service/queue-limits.ts';
import { createTaskClient } from '../src/core/service/task-client.ts';
import type { Logger } from '../worker/container/logger.ts';
import { runWorker } from '../worker/container/run-worker.ts';
import { maxOverlap, maxOverlapPerKey, maxStartsPerWindow, readLedger } from './support/ledger.ts';
import { useTestSchema } from './support/test-schema.ts';
import { waitFor } from './support/wait-for.ts';
import { startWorkerProcess } from './support/worker-process.ts';

const t = useTestSchema('flow_procs');
// Limits set before any worker looks: no executor holds an older list, so no wait is needed.
const limits = () => createQueueLimitsClient(t.db, t.schema, { sleep: async () => undefined });
const client = () => createTaskClient({ database: t.db, schema: t.schema });

async function pending(queues: readonly string[]): Promise<number> {
  const { rows } = await t.db.query(
    `select count(*)::int as n from ${t.schema}.tasks where queue = any($1) and status <> 'COMPLETED'`,
    [queues],
  );
  return rows[0]!.n as number;
}

describe('three worker processes', () => {
  it('never exceed a queue concurrency limit, a per-key limit or a rate limit', async () => {
    await limits().setQueueLimits('fc_conc', { concurrency: 3 });
    await limits().setQueueLimits('fc_rate', { rate: { limit: 5, periodSeconds: 1 } });
    await client().createTasks([
      ...Array.from({ length: 30 }, () => ({ name: 'test.sleep', args: [150], queue: 'fc_conc' })),
      ...Array.from({ length: 24 }, (_, i) => ({
        name: 'test.sleep',
        args: [150],
        queue: 'fc_keys',
        concurrencyKey: `user:${i % 4}`,
      })),
      ...Array.from({ length: 15 }, () => ({ name: 'test.sleep', args: [10], queue: 'fc_rate' })),
    ]);
    const args = ['--concurrency', '4', '--notifier', 'none', '--poll-interval', '200'];
    const workers = Array.from({ length: 3 }, () =>
      startWorkerProcess({ databaseUrl: t.databaseUrl, schema: t.schema, args }),
    );
    try {
      await Promise.all(workers.map((worker) => worker.waitFor('worker_started')));
      await waitFor(async () => (await pending(['fc_conc', 'fc_keys', 'fc_rate'])) === 0, {
        what: 'every task completed',
        timeout: 25_000,
        interval: 100,
      });
    } finally {
      for (const worker of workers) worker.child.kill('SIGTERM');
      await Promise.all(workers.map((worker) => worker.exited));
    }
    const conc = await readLedger(t.db, t.schema, 'fc_conc');
    expect(conc).toHaveLength(30);
    expect(maxOverlap(conc)).toBe(3);

    const keyed = await readLedger(t.db, t.schema, 'fc_keys');
    expect(keyed).toHaveLength(24);
    expect([...maxOverlapPerKey(keyed).values()]).toEqual([1, 1, 1, 1]);
    expect(maxOverlap(keyed)).toBeGreaterThan(1);

    const rate = await readLedger(t.db, t.schema, 'fc_rate');
    expect(rate).toHaveLength(15);
    expect(maxStartsPerWindow(rate, 1000)).toBe(5);
    const span = (rate.at(-1)!.start - rate[0]!.start) / 1000;
    expect(span).toBeGreaterThanOrEqual(2000);

    // The limits held across processes, not inside one: more than one worker ran these tasks.
    const { rows } = await t.db.query(
      `select count(distinct worker_id)::int as n from ${t.schema}.tasks where queue like 'fc\\_%'`,
    );
    expect(rows[0]!.n).toBeGreaterThan(1);
  }, 40_000);
});

/** The real database, counting the limited claims (lock and claim, one transaction) sent through it. */
function countingClaims(inner: Database): Database & { claims: () => number } {
  let claims = 0;
  return {
    claims: () => claims,
    query: (text, params, options) => inner.query(text, params, options),
    transaction: (queries) => {
      if (queries[0]?.text.includes('pg_advisory_xact_lock')) claims++;
      return inner.transaction(queries);
    },
    close: () => Promise.resolve(),
  };
}

describe('a worker held back by a limit', () => {
  it('waits for a slot or the rate window instead of claiming in a loop', async () => {
    await limits().setQueueLimits('fc_one', { concurrency: 1 });
    await limits().setQueueLimits('fc_paced', { rate: { limit: 2, periodSeconds: 0.5 } });
    const db = countingClaims(t.db);
    const failures: string[] = [];
    const logger: Logger = {
      log: (level, event) => {
        if (level === 'warn' || level === 'error') failures.push(event);
      },
    };
    const worker = await runWorker({
      tasks: 'test/fixtures/tasks.ts',
      database: db,
      schema: t.schema,
      queues: ['fc_one', 'fc_paced'],
      concurrency: 4,
      isolation: 'none',
      pollInterval: 200,
      logger,
    });
    try {
      const started = Date.now();
      await client().createTasks([
        ...Array.from({ length: 4 }, () => ({ name: 'test.sleep', args: [300], queue: 'fc_one' })),
        ...Array.from({ length: 6 }, () => ({ name: 'test.noop', queue: 'fc_paced' })),
      ]);
      await waitFor(async () => (await pending(['fc_one', 'fc_paced'])) === 0, {
        what: 'both queues drained',
        timeout: 15_000,
      });
      const elapsed = Date.now() - started;
      // Four 300 ms tasks one at a time; six starts at two per 0.5 s.
      expect(elapsed).toBeGreaterThanOrEqual(1200);
      // A loop would claim every millisecond or so: thousands. Held back, a handful per task.
      expect(db.claims()).toBeLessThan(40);
      expect(failures).toEqual([]);
      expect(maxOverlap(await readLedger(t.db, t.schema, 'fc_one'))).toBe(1);
      expect(maxStartsPerWindow(await readLedger(t.db, t.schema, 'fc_paced'), 500)).toBe(2);
    } finally {
      await worker.stop({ grace: 1 });
    }
  });
});

/**
 * The hot queries use indexes at 1M rows (most of them finished): no sequential scan in the
 * plans of claim, sweep and the status list. And a claim reads about as many rows as it
 * claims, whatever else the table holds: delayed tasks (at its priority or a higher one),
 * other queues' tasks, finished tasks (EXPLAIN ANALYZE of the claim, rows its scans read).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { workerStatements } from '../src/core/sql/worker-statements.ts';
import { maintainerStatements } from '../src/core/sql/maintainer-statements.ts';
import { taskStatements } from '../src/core/sql/task-statements.ts';
import { taskQueryStatements } from '../src/core/sql/task-query-statements.ts';
import { migrate } from '../src/core/migrations/migrate.ts';
import { migrations } from '../src/core/migrations/compiled.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('plan');

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

async function plan(text: string, params: unknown[]): Promise<PlanNode[]> {
  const { rows } = await t.db.query(`explain (format json) ${text}`, params);
  const [explained] = rows[0]!['QUERY PLAN'] as Array<{ Plan: PlanNode }>;
  return nodes(explained!.Plan);
}

describe('query plans at 1M rows', () => {
  beforeAll(async () => {
    // 990k finished, 9,900 pending (some in another queue), 100 running with expired leases.
    await t.db.query(
      `insert into ${t.schema}.tasks (id, name, status, queue, priority, created_at, run_at, finished_at, attempt, worker_id, lease_until)
       select lpad(i::text, 22, '0'), 'bench.noop',
              case when i <= 990000 then 'COMPLETED' when i <= 999900 then 'PENDING' else 'PROGRESS' end,
              case when i % 10 = 0 then 'other' else 'default' end,
              i % 3,
              now() - make_interval(secs => 1000000 - i),
              now() - make_interval(secs => 1000000 - i),
              case when i <= 990000 then now() end,
              case when i > 999900 then 1 else 0 end,
              case when i > 999900 then 'w' end,
              case when i > 999900 then now() - interval '1 minute' end
       from generate_series(1, 1000000) as i`,
    );
    await t.db.query(`analyze ${t.schema}.tasks`);
  }, 120_000);

  const noSeqScan = (all: PlanNode[]) => expect(all.map((n) => n['Node Type'])).not.toContain('Seq Scan');

  it('claim uses the due-first claim index', async () => {
    const all = await plan(workerStatements(t.schema).taskClaim, [10, 'w', 30, 0, null]);
    noSeqScan(all);
    expect(all.map((n) => n['Index Name'])).toContain('tasks_claim_due_idx');
  });

  it('claim for some queues uses the queue-led claim index', async () => {
    const all = await plan(workerStatements(t.schema).taskClaimForQueues, [10, 'w', 30, 0, null, ['other']]);
    noSeqScan(all);
    expect(all.map((n) => n['Index Name'])).toContain('tasks_claim_queue_idx');
  });

  it('sweep uses the lease index', async () => {
    const all = await plan(workerStatements(t.schema).taskSweepExpired, [1000, null, 1, 3600, 'leader']);
    noSeqScan(all);
    expect(all.map((n) => n['Index Name'])).toContain('tasks_lease_idx');
  });

  it('retention walks the primary key, and the maintainer plan uses indexes only', async () => {
    const retention = await plan(workerStatements(t.schema).taskDeleteFinished, [
      '0000000000000000500000',
      1000,
      'leader',
      null,
    ]);
    noSeqScan(retention);
    expect(retention.map((n) => n['Index Name'])).toContain('tasks_pkey');
    const { maintainerPlan, maintainerPlanForQueues } = maintainerStatements(t.schema);
    noSeqScan(await plan(maintainerPlan, ['m', 30, null]));
    noSeqScan(await plan(maintainerPlanForQueues, ['m', 30, null, ['other', 'default']]));
  });

  it('getting one task uses the primary key', async () => {
    noSeqScan(await plan(taskStatements(t.schema).taskGet, ['0000000000000000000042']));
  });

  it('listing, by status or not, uses an index', async () => {
    const { taskList } = taskQueryStatements(t.schema);
    for (const status of ['PENDING', 'PROGRESS', 'FAILED', 'CANCELLED', 'COMPLETED']) {
      noSeqScan(await plan(taskList, [status, null, null, null, 51]));
    }
    noSeqScan(await plan(taskList, [null, null, null, null, 51]));
    noSeqScan(await plan(taskList, ['COMPLETED', null, null, '0000000000000000500000', 51]));
  });
});

interface AnalyzedNode extends PlanNode {
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
}

const SCANS = ['Seq Scan', 'Index Scan', 'Index Only Scan', 'Bitmap Heap Scan'];

/**
 * Runs the claim under EXPLAIN ANALYZE in a transaction that is rolled back, and counts the
 * rows its scans read: the rows each scan returned plus those its filters removed, over all
 * loops (EXPLAIN shows both per loop).
 */
async function rowsRead(text: string, params: unknown[]): Promise<{ read: number; claimed: number }> {
  const client = await t.db.pool.connect();
  try {
    await client.query('begin');
    const { rows } = await client.query(`explain (analyze, buffers, format json) ${text}`, params);
    const [explained] = rows[0]!['QUERY PLAN'] as Array<{ Plan: AnalyzedNode }>;
    const all = nodes(explained!.Plan) as AnalyzedNode[];
    const read = all
      .filter((node) => SCANS.includes(node['Node Type']))
      .reduce(
        (sum, node) =>
          sum +
          ((node['Actual Rows'] ?? 0) +
            (node['Rows Removed by Filter'] ?? 0) +
            (node['Rows Removed by Index Recheck'] ?? 0)) *
            (node['Actual Loops'] ?? 1),
        0,
      );
    return { read, claimed: explained!.Plan['Actual Rows'] ?? 0 };
  } finally {
    await client.query('rollback');
    client.release();
  }
}

// 50k rows that a claim must not read, then 100 due tasks in the default queue at priority 0.
const BACKLOG = 50_000;
const READ_BOUND = 40;

function expectBounded({ read, claimed }: { read: number; claimed: number }) {
  expect(claimed).toBe(10);
  expect(read).toBeLessThanOrEqual(READ_BOUND);
}

describe('claim cost does not depend on what is not due or not asked for', () => {
  async function fill(backlog: { status: string; queue: string; priority: number; runAt: string }) {
    await t.db.query(`truncate ${t.schema}.tasks`);
    await t.db.query(
      `insert into ${t.schema}.tasks (id, name, status, queue, priority, created_at, run_at, finished_at)
       select 'a' || lpad(i::text, 21, '0'), 'bench.noop', $1, $2, $3,
              now() - interval '1 day' + make_interval(secs => i / 1000.0),
              ${backlog.runAt},
              case when $1 = 'COMPLETED' then now() end
       from generate_series(1, ${BACKLOG}) as i`,
      [backlog.status, backlog.queue, backlog.priority],
    );
    await t.db.query(
      `insert into ${t.schema}.tasks (id, name, queue, created_at, run_at)
       select 'b' || lpad(i::text, 21, '0'), 'bench.noop', 'b',
              now() - interval '1 minute' + make_interval(secs => i / 1000.0),
              now() - interval '1 minute' + make_interval(secs => i / 1000.0)
       from generate_series(1, 100) as i`,
    );
    await t.db.query(`analyze ${t.schema}.tasks`);
  }

  const claimAll = () => rowsRead(workerStatements(t.schema).taskClaim, [10, 'w', 30, 0, null]);
  const claimB = () => rowsRead(workerStatements(t.schema).taskClaimForQueues, [10, 'w', 30, 0, null, ['b']]);
  const tomorrow = `now() + interval '1 day'`;
  const due = `now() - interval '1 day' + make_interval(secs => i / 1000.0)`;

  it('50k delayed tasks created before 100 due ones: a claim of 10 reads a few dozen rows', async () => {
    await fill({ status: 'PENDING', queue: 'b', priority: 0, runAt: tomorrow });
    expectBounded(await claimAll());
    expectBounded(await claimB());
  });

  it("the maintainer's plan (next due task, earliest lease) reads a few rows on every backlog", async () => {
    const { maintainerPlan, maintainerPlanForQueues } = maintainerStatements(t.schema);
    for (const backlog of [
      { status: 'PENDING', queue: 'b', priority: 0, runAt: tomorrow },
      { status: 'PENDING', queue: 'a', priority: 5, runAt: due },
      { status: 'COMPLETED', queue: 'b', priority: 5, runAt: due },
    ]) {
      await fill(backlog);
      expect((await rowsRead(maintainerPlan, ['m', 30, null])).read).toBeLessThanOrEqual(READ_BOUND);
      expect((await rowsRead(maintainerPlanForQueues, ['m', 30, null, ['b']])).read).toBeLessThanOrEqual(
        READ_BOUND,
      );
    }
  });

  it('the delayed tasks at a higher priority than the due ones: the same bound', async () => {
    await fill({ status: 'PENDING', queue: 'b', priority: 5, runAt: tomorrow });
    expectBounded(await claimAll());
    expectBounded(await claimB());
  });

  it('50k due tasks in queue a, a claim for queue b reads a few dozen rows', async () => {
    await fill({ status: 'PENDING', queue: 'a', priority: 5, runAt: due });
    expectBounded(await claimB());
  });

  it('50k finished tasks cost nothing', async () => {
    await fill({ status: 'COMPLETED', queue: 'b', priority: 5, runAt: due });
    expectBounded(await claimAll());
    expectBounded(await claimB());
  });
});

describe('migration 0003 on a schema that has tasks', () => {
  it('builds the due-first claim indexes, drops the old one, and the pending tasks are claimed in order', async () => {
    const schema = `${t.schema}_up`;
    try {
      await migrate(t.db, { schema, migrations: migrations.filter((m) => m.id <= 2) });
      await t.db.query(
        `insert into "${schema}".tasks (id, name, created_at, run_at)
         select lpad(i::text, 22, '0'), 'bench.noop', now() - make_interval(secs => 100 - i), now() - make_interval(secs => 100 - i)
         from generate_series(1, 50) as i`,
      );
      await migrate(t.db, { schema });
      const { rows: indexes } = await t.db.query<{ name: string; valid: boolean }>(
        `select c.relname as name, i.indisvalid as valid from pg_index i
         join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = $1 and c.relname like 'tasks_claim%' order by 1`,
        [schema],
      );
      expect(indexes).toEqual([
        { name: 'tasks_claim_due_idx', valid: true },
        { name: 'tasks_claim_queue_idx', valid: true },
      ]);
      const { rows } = await t.db.query(workerStatements(schema).taskClaim, [3, 'w', 30, 0, null]);
      expect(rows.map((row) => row.id as string).sort()).toEqual(
        ['1', '2', '3'].map((i) => i.padStart(22, '0')),
      );
    } finally {
      await t.db.query(`drop schema if exists "${schema}" cascade`);
    }
  });
});

/**
 * The hot queries use indexes at 1M rows (most of them finished): no sequential scan in the
 * plans of claim, sweep and the status list.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { workerStatements } from '../src/core/sql/worker-statements.ts';
import { taskStatements } from '../src/core/sql/task-statements.ts';
import { taskQueryStatements } from '../src/core/sql/task-query-statements.ts';
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

  it('claim uses the claim index', async () => {
    const all = await plan(workerStatements(t.schema).taskClaim, [10, 'w', 30, 0, null]);
    noSeqScan(all);
    expect(all.map((n) => n['Index Name'])).toContain('tasks_claim_idx');
  });

  it('claim for some queues uses the claim index', async () => {
    const all = await plan(workerStatements(t.schema).taskClaimForQueues, [10, 'w', 30, 0, null, ['other']]);
    noSeqScan(all);
    expect(all.map((n) => n['Index Name'])).toContain('tasks_claim_idx');
  });

  it('sweep uses the lease index', async () => {
    const all = await plan(workerStatements(t.schema).taskSweepExpired, [1000, null, 1, 3600]);
    noSeqScan(all);
    expect(all.map((n) => n['Index Name'])).toContain('tasks_lease_idx');
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

/**
 * The dead-letter statements use indexes at 1M rows (most of them completed): the count, a
 * redrive batch and the grouped reasons read FAILED tasks through tasks_failed_id_idx, whatever
 * the filters, and a redrive batch's uniqueKey check reads tasks_unique_key_idx. A batch reads
 * about as many rows as it moves, wherever its cursor is (EXPLAIN ANALYZE, rolled back).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { redriveStatements } from '../src/core/sql/redrive-statements.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('redrive_plan');

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
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

const FAILED = 10_000;
const id = (i: number) => lpad(i);
function lpad(i: number): string {
  return String(i).padStart(22, '0');
}

// Filter sets ($1 name, $2 queue, $3 error_type, $4 from, $5 to): none, each alone, all.
const HOUR_AGO = new Date(Date.now() - 3_600_000).toISOString();
const FILTER_SETS: Array<Array<string | null>> = [
  [null, null, null, null, null],
  ['app.fail.a', null, null, null, null],
  [null, 'q1', null, null, null],
  [null, null, 'TypeError', null, null],
  [null, null, null, HOUR_AGO, null],
  [null, null, null, null, HOUR_AGO],
  ['app.fail.a', 'q1', 'TypeError', HOUR_AGO, new Date().toISOString()],
];

const expectIndexed = (all: PlanNode[], index: string) => {
  expect(all.map((n) => n['Node Type'])).not.toContain('Seq Scan');
  expect(all.map((n) => n['Index Name'])).toContain(index);
};

describe('dead-letter plans at 1M rows', () => {
  beforeAll(async () => {
    // 985k completed, 10k failed (every 7th with a uniqueKey), 5k pending (every 5th keyed).
    await t.db.query(
      `insert into ${t.schema}.tasks (id, name, status, queue, error, error_type, unique_key, created_at, finished_at)
       select lpad(i::text, 22, '0'),
              case when i % 3 = 0 then 'app.fail.a' else 'app.fail.b' end,
              case when i <= 985000 then 'COMPLETED' when i <= ${985_000 + FAILED} then 'FAILED' else 'PENDING' end,
              'q' || (i % 4),
              case when i > 985000 and i <= ${985_000 + FAILED} then 'boom ' || i end,
              case when i > 985000 and i <= ${985_000 + FAILED}
                   then (array['TypeError', 'RangeError', 'TimeoutError'])[1 + i % 3] end,
              case when i > 985000 and i % 35 = 0 then 'key-' || (i % 700) end,
              now() - make_interval(secs => 1000000 - i),
              case when i <= ${985_000 + FAILED} then now() - make_interval(secs => (1000000 - i) / 2.0) end
       from generate_series(1, 1000000) as i
       on conflict do nothing`,
    );
    await t.db.query(`analyze ${t.schema}.tasks`);
  }, 180_000);

  it('the count reads the failed index, whatever the filters', async () => {
    const { failedTaskCount } = redriveStatements(t.schema);
    for (const filters of FILTER_SETS)
      expectIndexed(await plan(failedTaskCount, filters), 'tasks_failed_id_idx');
  });

  it('a redrive batch reads the failed index, and the uniqueKey index for holders', async () => {
    const { failedTaskRedrive } = redriveStatements(t.schema);
    for (const filters of FILTER_SETS) {
      const all = await plan(failedTaskRedrive, [...filters, null, id(2_000_000), 1000]);
      expectIndexed(all, 'tasks_failed_id_idx');
      expect(all.map((n) => n['Index Name'])).toContain('tasks_unique_key_idx');
      const later = await plan(failedTaskRedrive, [...filters, id(990_000), id(2_000_000), 1000]);
      expectIndexed(later, 'tasks_failed_id_idx');
    }
  });

  it('the grouped reasons read the failed index, whatever the filters', async () => {
    const { failedTaskReasons } = redriveStatements(t.schema);
    for (const filters of FILTER_SETS) {
      expectIndexed(await plan(failedTaskReasons, [...filters, 20]), 'tasks_failed_id_idx');
    }
  });

  it('a batch of 100 from a cursor in the middle reads about 100 failed rows', async () => {
    const client = await t.db.pool.connect();
    try {
      await client.query('begin');
      const { rows } = await client.query(
        `explain (analyze, format json) ${redriveStatements(t.schema).failedTaskRedrive}`,
        [null, null, null, null, null, id(990_000), id(2_000_000), 100],
      );
      const [explained] = rows[0]!['QUERY PLAN'] as Array<{ Plan: PlanNode }>;
      const scans = nodes(explained!.Plan).filter((n) => n['Index Name'] === 'tasks_failed_id_idx');
      const read = scans.reduce(
        (sum, n) =>
          sum + ((n['Actual Rows'] ?? 0) + (n['Rows Removed by Filter'] ?? 0)) * (n['Actual Loops'] ?? 1),
        0,
      );
      expect(explained!.Plan['Actual Rows']).toBe(100);
      expect(read).toBeLessThanOrEqual(110);
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});

/**
 * Every write a run makes (heartbeat, progress, completion, failure, put-back, the cron
 * executor's cut-off) reaches its rows by primary key, whatever plan Postgres makes of it:
 *
 * - never through `tasks_lease_idx`, the partial index of running tasks. It keeps an entry for
 *   every task that ran until vacuum removes it, so a write that walked it cost more with every
 *   task finished before it (a 120,000-task drain ran at a third of a 10,000-task one's rate);
 * - never a scan of the table inside a loop over the runs, in a one-off (custom) plan or in the
 *   cached generic one a prepared statement ends up with (where `worker_id = $2` once looked so
 *   rare that the table was scanned for each of 500 runs). On a table this small a plan may
 *   scan it once and hash-join; that is the planner's choice by cost, and it moves to the
 *   primary key as the table grows.
 *
 * Plans are read from the real Postgres (docs/BENCHMARKS.md, 2026-12-02 (f)).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimTasks, type ClaimedTask } from '../src/core/execution/claim.ts';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { workerStatements } from '../src/core/sql/worker-statements.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('write_back_plans');
const WORKER = 'w-plans';
let running: ClaimedTask[] = [];
let session: pg.Client;

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

/** A parameter as SQL text. */
function literal(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `'{${value.map((item) => `"${String(item)}"`).join(',')}}'`;
  return `'${String(value).replace(/'/g, "''")}'`;
}

/**
 * How a plan of `text` reaches the tasks table: the indexes it uses, `scan` for a sequential
 * scan, and `scan per row` for one inside a nested loop (repeated, or repeating the other side,
 * for every run).
 */
async function tasksAccess(text: string, params: unknown[], mode: 'custom' | 'generic'): Promise<string[]> {
  await session.query(`set plan_cache_mode = force_${mode}_plan`);
  await session.query('deallocate all');
  await session.query(`prepare write_back as ${text}`);
  const { rows } = await session.query(
    `explain (format json) execute write_back(${params.map(literal).join(', ')})`,
  );
  const found: string[] = [];
  const visit = (node: PlanNode, inLoop: boolean) => {
    if (node['Index Name']) found.push(node['Index Name']);
    else if (node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'tasks')
      found.push(inLoop ? 'scan per row' : 'scan');
    for (const child of node.Plans ?? []) visit(child, inLoop || node['Node Type'] === 'Nested Loop');
  };
  visit((rows[0] as { 'QUERY PLAN': Array<{ Plan: PlanNode }> })['QUERY PLAN'][0]!.Plan, false);
  return found;
}

beforeAll(async () => {
  const client = createTaskClient({ database: t.db, schema: t.schema, tracing: false });
  for (let i = 0; i < 4; i++) {
    await client.createTasks(Array.from({ length: 1000 }, (_, j) => ({ name: 'plan.noop', kwargs: { j } })));
  }
  // Analyzed before any task runs, as a worker does at its start: the statistics then say that
  // almost no task is running, which is when the planner preferred the index of running tasks.
  await t.db.query(`analyze ${t.schema}.tasks`);
  const sql = workerStatements(t.schema);
  running = await claimTasks(
    { db: t.db, sql, workerId: WORKER, lease: 60, defaultRetries: 0, now: null },
    200,
  );
  session = new pg.Client({ connectionString: t.databaseUrl });
  await session.connect();
});

afterAll(async () => {
  await session?.end();
});

describe('the writes of a run', () => {
  it('never go through the index of running tasks, nor scan the table once per run', async () => {
    const sql = workerStatements(t.schema);
    const ids = running.map((task) => task.id);
    const attempts = running.map((task) => task.attempt);
    const tokens = running.map((task) => task.token);
    const json = (extra: Record<string, unknown>) =>
      JSON.stringify(
        running.map((task) => ({ id: task.id, attempt: task.attempt, token: task.token, ...extra })),
      );
    const failure = { error: 'x', error_type: 'Error', error_stack: null, duration: 1, retryable: true };
    const cutOff = { duration: 1, cut_message: 'cut', fail_message: 'gave up' };
    const statements: Record<string, [string, unknown[]]> = {
      taskHeartbeat: [sql.taskHeartbeat, [ids, attempts, WORKER, 60, null, tokens]],
      taskCompleteMany: [sql.taskCompleteMany, [json({ result: null, duration: 1 }), WORKER, null]],
      taskFailMany: [sql.taskFailMany, [json(failure), WORKER, null, 1, 60]],
      taskPutBack: [sql.taskPutBack, [ids, attempts, WORKER, null, tokens]],
      taskProgress: [sql.taskProgress, [ids[0], attempts[0], WORKER, '{"done":1}', tokens[0]]],
      taskCutOff: [sql.taskCutOff, [json(cutOff), WORKER, null, 3]],
    };
    expect(running).toHaveLength(200);
    for (const [name, [text, params]] of Object.entries(statements)) {
      for (const mode of ['custom', 'generic'] as const) {
        const access = await tasksAccess(text, params, mode);
        const plan = `${name}, ${mode} plan: ${access.join(', ')}`;
        expect(access, plan).not.toContain('tasks_lease_idx');
        expect(access, plan).not.toContain('scan per row');
        expect(access.length, plan).toBeGreaterThan(0);
      }
    }
  });
});

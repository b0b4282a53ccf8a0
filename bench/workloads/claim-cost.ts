/**
 * Claim cost as the table grows: for each size, a fresh edge-task-worker table is filled with
 * one generate_series insert (all rows but the last few hundred `COMPLETED`, the rest `PENDING`,
 * in creation order), analyzed, and then the worker's own statements are timed from this
 * process over one node-postgres connection: `taskClaim` with limit 1 (through `claimTasks`),
 * then `taskCompleteMany` for that task (through `writeBack`), one pair after the other.
 * Round trips and commits are included (localhost TCP, fsync on); the server-side time of one
 * claim (planned from scratch) is taken from EXPLAIN ANALYZE as well.
 *
 * What this does not show: a table that reached its size through real churn carries dead tuples
 * and index bloat until autovacuum runs; the filled table has none.
 * @module
 */
import type { BenchSizes } from '../bench-options.ts';
import type { BenchNamespaces } from '../bench-namespaces.ts';
import type { ProgressDisplay } from '../progress-display.ts';
import { formatNumber, type TableStyle } from '../report/format-results.ts';
import { markdownTable, textTable } from '../report/text-table.ts';
import { median, percentile } from '../sample-stats.ts';
import {
  claimCostFill,
  explainAnalyze,
  schemaDrop,
  tasksAnalyze,
  tasksTotalSize,
} from '../sql/bench-statements.ts';
import type { BenchEnvironment } from '../systems/queue-system.ts';
import { migrate } from '../../src/core/migrations/migrate.ts';
import type { Database } from '../../src/core/database.ts';
import { createPgDatabase } from '../../src/adapters/node/pg-database.ts';
import { claimTasks } from '../../src/core/execution/claim.ts';
import { DEFAULT_RETRY_BACKOFF } from '../../src/core/retry-policy.ts';
import { workerStatements } from '../../src/core/sql/worker-statements.ts';
import { writeBack } from '../../src/core/execution/write-back.ts';

const WARM_UP = 20;
const EXTRA_PENDING = 300;
const WORKER_ID = 'bench-claim';
const LEASE_SECONDS = 30;

export interface ClaimCostSize {
  rows: number;
  pending: number;
  fillSeconds: number;
  tableMiB: number;
  /** Microseconds per statement, round trip and commit included: over all, and medians per repetition. */
  claimUs: { median: number; p90: number; perRep: number[] };
  completeUs: { median: number; p90: number };
  /** EXPLAIN ANALYZE of a claim (limit 1), server side, µs: medians of EXPLAIN_RUNS. */
  serverClaimUs: { planning: number; execution: number };
}

export interface ClaimCostResult {
  sizes: ClaimCostSize[];
  /** Largest ÷ smallest size: median of the per-repetition ratios of the claim medians. */
  growth: number | undefined;
  /** Largest ÷ smallest size of the server-side execution time. */
  serverGrowth: number | undefined;
}

const EXPLAIN_RUNS = 5;

interface ClaimTable {
  rows: number;
  schema: string;
  db: Database;
  fillSeconds: number;
  tableMiB: number;
  claims: number[];
  completes: number[];
  perRep: number[];
  claimAndComplete(): Promise<[number, number]>;
}

async function fillTable(
  environment: BenchEnvironment,
  schema: string,
  rows: number,
  pending: number,
): Promise<ClaimTable> {
  const db = createPgDatabase({
    connectionString: environment.databaseUrl,
    max: 1,
    applicationName: 'bench-claim',
  });
  await migrate(db, { schema });
  const fillStarted = performance.now();
  await db.query(claimCostFill(schema), [rows, pending]);
  await db.query(tasksAnalyze(schema));
  const fillSeconds = (performance.now() - fillStarted) / 1000;
  const { rows: size } = await db.query<{ bytes: string }>(tasksTotalSize(schema));
  const sql = workerStatements(schema);
  // The worker's own functions, so the statements go out exactly as the worker sends them
  // (prepared or not, same parameters).
  const claim = { db, sql, workerId: WORKER_ID, lease: LEASE_SECONDS, defaultRetries: 0, now: null };
  const writeBackContext = { db, sql, workerId: WORKER_ID, backoff: DEFAULT_RETRY_BACKOFF, now: null };
  return {
    rows,
    schema,
    db,
    fillSeconds,
    tableMiB: Number(size[0]?.bytes ?? 0) / 2 ** 20,
    claims: [],
    completes: [],
    perRep: [],
    async claimAndComplete() {
      const t0 = performance.now();
      const [task] = await claimTasks(claim, 1);
      const t1 = performance.now();
      if (!task) throw new Error(`no pending task left to claim in ${schema}`);
      const landed = await writeBack(writeBackContext, [
        {
          kind: 'complete',
          id: task.id,
          attempt: task.attempt,
          name: task.name,
          json: 'null',
          duration: 0.0001,
        },
      ]);
      if (landed[0]?.status !== 'COMPLETED') throw new Error(`task ${task.id} did not complete`);
      return [(t1 - t0) * 1000, (performance.now() - t1) * 1000];
    },
  };
}

async function explainClaim(table: ClaimTable): Promise<ClaimCostSize['serverClaimUs']> {
  const planning: number[] = [];
  const execution: number[] = [];
  for (let i = 0; i < EXPLAIN_RUNS; i++) {
    const { rows: plan } = await table.db.query<{
      'QUERY PLAN': Array<{ 'Planning Time': number; 'Execution Time': number }>;
    }>(explainAnalyze(workerStatements(table.schema).taskClaim), [1, WORKER_ID, LEASE_SECONDS, 0, null]);
    const explained = plan[0]?.['QUERY PLAN'][0];
    planning.push((explained?.['Planning Time'] ?? NaN) * 1000);
    execution.push((explained?.['Execution Time'] ?? NaN) * 1000);
  }
  return { planning: median(planning), execution: median(execution) };
}

/**
 * All tables are filled first; then each repetition times every size in turn, in an order
 * rotated per repetition, so a change in the machine's load hits every size alike.
 */
export async function claimCostWorkload(run: {
  environment: BenchEnvironment;
  sizes: BenchSizes;
  reps: number;
  namespaces: BenchNamespaces;
  progress: ProgressDisplay;
}): Promise<ClaimCostResult> {
  const claimsPerRep = run.sizes.claims;
  const pending = WARM_UP + run.reps * claimsPerRep + EXPLAIN_RUNS + EXTRA_PENDING;
  const tables: ClaimTable[] = [];
  try {
    for (const rows of run.sizes.claimTableSizes) {
      const step = run.progress.start('claim-cost', `${rows.toLocaleString('en-US')} rows`, 'fill');
      const table = await fillTable(run.environment, run.namespaces.next('claim'), rows, pending);
      tables.push(table);
      for (let i = 0; i < WARM_UP; i++) await table.claimAndComplete();
      step.done(`filled in ${table.fillSeconds.toFixed(1)} s, ${table.tableMiB.toFixed(0)} MiB`);
    }
    for (let rep = 1; rep <= run.reps; rep++) {
      const shift = (rep - 1) % tables.length;
      for (const table of [...tables.slice(shift), ...tables.slice(0, shift)]) {
        const step = run.progress.start(
          'claim-cost',
          `${table.rows.toLocaleString('en-US')} rows`,
          `rep ${rep}/${run.reps}`,
        );
        const repClaims: number[] = [];
        for (let i = 0; i < claimsPerRep; i++) {
          const [claim, complete] = await table.claimAndComplete();
          repClaims.push(claim);
          table.completes.push(complete);
        }
        table.claims.push(...repClaims);
        table.perRep.push(median(repClaims));
        step.done(`claim median ${median(repClaims).toFixed(0)} µs`);
      }
    }
    const results: ClaimCostSize[] = [];
    for (const table of tables) {
      results.push({
        rows: table.rows,
        pending,
        fillSeconds: table.fillSeconds,
        tableMiB: table.tableMiB,
        claimUs: { median: median(table.claims), p90: percentile(table.claims, 90), perRep: table.perRep },
        completeUs: { median: median(table.completes), p90: percentile(table.completes, 90) },
        serverClaimUs: await explainClaim(table),
      });
    }
    const first = results[0];
    const last = results.at(-1);
    const compared = first && last && results.length > 1;
    return {
      sizes: results,
      growth: compared
        ? median(last.claimUs.perRep.map((us, rep) => us / first.claimUs.perRep[rep]!))
        : undefined,
      serverGrowth: compared ? last.serverClaimUs.execution / first.serverClaimUs.execution : undefined,
    };
  } finally {
    for (const table of tables) {
      await table.db.query(schemaDrop(table.schema)).catch(() => undefined);
      await table.db.close();
    }
  }
}

export function formatClaimCost(result: ClaimCostResult, style: TableStyle): string {
  const header = [
    'table rows',
    'pending',
    'table MiB',
    'claim µs median (p90)',
    'claim µs per rep',
    'complete µs median (p90)',
    `server µs: plan + exec (median of ${EXPLAIN_RUNS})`,
  ];
  const rows = result.sizes.map((size) => [
    size.rows.toLocaleString('en-US'),
    size.pending.toLocaleString('en-US'),
    formatNumber(size.tableMiB, 0),
    `${formatNumber(size.claimUs.median, 0)} (${formatNumber(size.claimUs.p90, 0)})`,
    size.claimUs.perRep.map((us) => formatNumber(us, 0)).join(', '),
    `${formatNumber(size.completeUs.median, 0)} (${formatNumber(size.completeUs.p90, 0)})`,
    `${formatNumber(size.serverClaimUs.planning, 0)} + ${formatNumber(size.serverClaimUs.execution, 0)}`,
  ]);
  const table = style === 'markdown' ? markdownTable(header, rows) : textTable(header, rows);
  const growth =
    result.growth === undefined || result.serverGrowth === undefined
      ? ''
      : `${style === 'markdown' ? '\n\n' : '\n'}${result.sizes.at(-1)!.rows.toLocaleString('en-US')} rows ÷ ${result.sizes[0]!.rows.toLocaleString('en-US')} rows: ` +
        `claim round trip ${result.growth.toFixed(2)}× (median of same-repetition ratios), ` +
        `server-side execution ${result.serverGrowth.toFixed(2)}×`;
  return `${style === 'markdown' ? '' : '## Claim cost as the table grows\n'}${table}${growth}`;
}

/**
 * Claim cost against what a claim must not read: for each backlog size N, a fresh
 * edge-task-worker table holds N delayed tasks (due tomorrow, created before the due ones, the
 * head of the old claim index), N due tasks of another queue and N finished tasks, beside the
 * due tasks of queue `default` (N = 0: those alone, the baseline). Each table is filled with one
 * generate_series insert and analyzed; then the worker's own statements are timed from this
 * process over one node-postgres connection: a claim of one task (through `claimTasks`), for
 * all queues and for `--queues default`, then `taskCompleteMany` for it (through `writeBack`).
 * Round trips and commits are included (localhost TCP, fsync on); the server-side time of one
 * claim (planned from scratch) is taken from EXPLAIN ANALYZE as well. The target: a backlog
 * costs a claim at most 1.2× the baseline, at p50 and at p99.
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
const EXPLAIN_RUNS = 5;
/** The claims timed: a worker for every queue, and one with `--queues default`. */
const KINDS = [
  { name: 'all queues', queues: undefined },
  { name: '--queues default', queues: ['default'] },
] as const;
type KindName = (typeof KINDS)[number]['name'];

export interface ClaimCostKind {
  /** Microseconds per claim, round trip and commit included: over all, and medians per repetition. */
  claimUs: { median: number; p99: number; perRep: number[]; p99PerRep: number[] };
  /** EXPLAIN ANALYZE of a claim (limit 1), server side, µs: medians of EXPLAIN_RUNS. */
  serverClaimUs: { planning: number; execution: number };
}

export interface ClaimCostSize {
  /** Delayed tasks, tasks of another queue and finished tasks: this many of each. */
  backlog: number;
  rows: number;
  pending: number;
  fillSeconds: number;
  tableMiB: number;
  kinds: Record<KindName, ClaimCostKind>;
  completeUs: { median: number; p90: number };
}

export interface ClaimCostResult {
  sizes: ClaimCostSize[];
  /**
   * Largest backlog ÷ baseline (the first size), per claim kind: medians of the per-repetition
   * ratios of the claim p50 and p99, and the ratio of the server-side execution times.
   */
  ratios: Partial<Record<KindName, { p50: number; p99: number; server: number }>>;
}

interface ClaimTable {
  backlog: number;
  rows: number;
  schema: string;
  db: Database;
  fillSeconds: number;
  tableMiB: number;
  claims: Record<KindName, { all: number[]; perRep: number[]; p99PerRep: number[] }>;
  completes: number[];
  claimAndComplete(queues: readonly string[] | undefined): Promise<[number, number]>;
}

async function fillTable(
  environment: BenchEnvironment,
  schema: string,
  backlog: number,
  pending: number,
): Promise<ClaimTable> {
  const db = createPgDatabase({
    connectionString: environment.databaseUrl,
    max: 1,
    applicationName: 'bench-claim',
  });
  await migrate(db, { schema });
  const fillStarted = performance.now();
  await db.query(claimCostFill(schema), [backlog, pending]);
  await db.query(tasksAnalyze(schema));
  const fillSeconds = (performance.now() - fillStarted) / 1000;
  const { rows: size } = await db.query<{ bytes: string }>(tasksTotalSize(schema));
  const sql = workerStatements(schema);
  // The worker's own functions, so the statements go out exactly as the worker sends them
  // (prepared or not, same parameters).
  const claim = { db, sql, workerId: WORKER_ID, lease: LEASE_SECONDS, defaultRetries: 0, now: null };
  const writeBackContext = { db, sql, workerId: WORKER_ID, backoff: DEFAULT_RETRY_BACKOFF, now: null };
  const claims = Object.fromEntries(
    KINDS.map((kind) => [kind.name, { all: [], perRep: [], p99PerRep: [] }]),
  ) as unknown as ClaimTable['claims'];
  return {
    backlog,
    rows: 3 * backlog + pending,
    schema,
    db,
    fillSeconds,
    tableMiB: Number(size[0]?.bytes ?? 0) / 2 ** 20,
    claims,
    completes: [],
    async claimAndComplete(queues) {
      const t0 = performance.now();
      const [task] = await claimTasks({ ...claim, queues }, 1);
      const t1 = performance.now();
      if (!task) throw new Error(`no pending task left to claim in ${schema}`);
      if (task.queue !== 'default') throw new Error(`claimed a task of queue ${task.queue} in ${schema}`);
      const landed = await writeBack(writeBackContext, [
        {
          kind: 'complete',
          id: task.id,
          attempt: task.attempt,
          token: task.token,
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

async function explainClaim(
  table: ClaimTable,
  queues: readonly string[] | undefined,
): Promise<ClaimCostKind['serverClaimUs']> {
  const sql = workerStatements(table.schema);
  const params: unknown[] = [1, WORKER_ID, LEASE_SECONDS, 0, null];
  if (queues) params.push(queues);
  const planning: number[] = [];
  const execution: number[] = [];
  for (let i = 0; i < EXPLAIN_RUNS; i++) {
    const { rows: plan } = await table.db.query<{
      'QUERY PLAN': Array<{ 'Planning Time': number; 'Execution Time': number }>;
    }>(explainAnalyze(queues ? sql.taskClaimForQueues : sql.taskClaim), params);
    const explained = plan[0]?.['QUERY PLAN'][0];
    planning.push((explained?.['Planning Time'] ?? NaN) * 1000);
    execution.push((explained?.['Execution Time'] ?? NaN) * 1000);
  }
  return { planning: median(planning), execution: median(execution) };
}

/** One repetition on one table: `claimsPerRep` claims of each kind, kinds interleaved. */
async function timeRep(table: ClaimTable, claimsPerRep: number): Promise<void> {
  const rep = Object.fromEntries(KINDS.map((kind) => [kind.name, [] as number[]])) as Record<
    KindName,
    number[]
  >;
  for (let i = 0; i < claimsPerRep; i++) {
    for (const kind of KINDS) {
      const [claim, complete] = await table.claimAndComplete(kind.queues);
      rep[kind.name].push(claim);
      table.completes.push(complete);
    }
  }
  for (const kind of KINDS) {
    const timed = table.claims[kind.name];
    timed.all.push(...rep[kind.name]);
    timed.perRep.push(median(rep[kind.name]));
    timed.p99PerRep.push(percentile(rep[kind.name], 99));
  }
}

async function summarize(table: ClaimTable, pending: number): Promise<ClaimCostSize> {
  const kinds = {} as Record<KindName, ClaimCostKind>;
  for (const kind of KINDS) {
    const timed = table.claims[kind.name];
    kinds[kind.name] = {
      claimUs: {
        median: median(timed.all),
        p99: percentile(timed.all, 99),
        perRep: timed.perRep,
        p99PerRep: timed.p99PerRep,
      },
      serverClaimUs: await explainClaim(table, kind.queues),
    };
  }
  return {
    backlog: table.backlog,
    rows: table.rows,
    pending,
    fillSeconds: table.fillSeconds,
    tableMiB: table.tableMiB,
    kinds,
    completeUs: { median: median(table.completes), p90: percentile(table.completes, 90) },
  };
}

function ratios(results: ClaimCostSize[]): ClaimCostResult['ratios'] {
  const first = results[0];
  const last = results.at(-1);
  if (!first || !last || results.length < 2) return {};
  const perRep = (of: number[], base: number[]) => median(of.map((us, rep) => us / base[rep]!));
  return Object.fromEntries(
    KINDS.map((kind) => {
      const [a, b] = [last.kinds[kind.name], first.kinds[kind.name]];
      return [
        kind.name,
        {
          p50: perRep(a.claimUs.perRep, b.claimUs.perRep),
          p99: perRep(a.claimUs.p99PerRep, b.claimUs.p99PerRep),
          server: a.serverClaimUs.execution / b.serverClaimUs.execution,
        },
      ];
    }),
  );
}

/**
 * All tables are filled first; then each repetition times every table in turn, in an order
 * rotated per repetition, so a change in the machine's load hits every table alike.
 */
export async function claimCostWorkload(run: {
  environment: BenchEnvironment;
  sizes: BenchSizes;
  reps: number;
  namespaces: BenchNamespaces;
  progress: ProgressDisplay;
}): Promise<ClaimCostResult> {
  const claimsPerRep = run.sizes.claims;
  const pending = KINDS.length * (WARM_UP + run.reps * claimsPerRep + EXPLAIN_RUNS) + EXTRA_PENDING;
  const tables: ClaimTable[] = [];
  const label = (backlog: number) =>
    backlog === 0 ? 'due only' : `backlog 3 × ${backlog.toLocaleString('en-US')}`;
  try {
    for (const backlog of run.sizes.claimBacklogs) {
      const step = run.progress.start('claim-cost', label(backlog), 'fill');
      const table = await fillTable(run.environment, run.namespaces.next('claim'), backlog, pending);
      tables.push(table);
      for (let i = 0; i < WARM_UP; i++) for (const kind of KINDS) await table.claimAndComplete(kind.queues);
      step.done(`filled in ${table.fillSeconds.toFixed(1)} s, ${table.tableMiB.toFixed(0)} MiB`);
    }
    for (let rep = 1; rep <= run.reps; rep++) {
      const shift = (rep - 1) % tables.length;
      for (const table of [...tables.slice(shift), ...tables.slice(0, shift)]) {
        const step = run.progress.start('claim-cost', label(table.backlog), `rep ${rep}/${run.reps}`);
        await timeRep(table, claimsPerRep);
        step.done(
          KINDS.map(
            (kind) => `${kind.name} median ${table.claims[kind.name].perRep.at(-1)!.toFixed(0)} µs`,
          ).join(', '),
        );
      }
    }
    const results: ClaimCostSize[] = [];
    for (const table of tables) results.push(await summarize(table, pending));
    return { sizes: results, ratios: ratios(results) };
  } finally {
    for (const table of tables) {
      await table.db.query(schemaDrop(table.schema)).catch(() => undefined);
      await table.db.close();
    }
  }
}

export function formatClaimCost(result: ClaimCostResult, style: TableStyle): string {
  const header = [
    'delayed / other queue / finished',
    'due (default)',
    'table MiB',
    ...KINDS.flatMap((kind) => [`claim ${kind.name} µs p50 (p99)`, `server µs plan + exec`]),
    'complete µs median (p90)',
  ];
  const rows = result.sizes.map((size) => [
    size.backlog.toLocaleString('en-US'),
    size.pending.toLocaleString('en-US'),
    formatNumber(size.tableMiB, 0),
    ...KINDS.flatMap((kind) => {
      const { claimUs, serverClaimUs } = size.kinds[kind.name];
      return [
        `${formatNumber(claimUs.median, 0)} (${formatNumber(claimUs.p99, 0)})`,
        `${formatNumber(serverClaimUs.planning, 0)} + ${formatNumber(serverClaimUs.execution, 0)}`,
      ];
    }),
    `${formatNumber(size.completeUs.median, 0)} (${formatNumber(size.completeUs.p90, 0)})`,
  ]);
  const table = style === 'markdown' ? markdownTable(header, rows) : textTable(header, rows);
  const last = result.sizes.at(-1);
  const lines = KINDS.flatMap((kind) => {
    const ratio = result.ratios[kind.name];
    return ratio && last
      ? [
          `claim ${kind.name}, backlog 3 × ${last.backlog.toLocaleString('en-US')} ÷ due only: ` +
            `p50 ${ratio.p50.toFixed(2)}×, p99 ${ratio.p99.toFixed(2)}× (medians of same-repetition ratios; target ≤ 1.2×), ` +
            `server-side execution ${ratio.server.toFixed(2)}×`,
        ]
      : [];
  });
  const separator = style === 'markdown' ? '\n\n' : '\n';
  return `${style === 'markdown' ? '' : '## Claim cost against a backlog\n'}${table}${lines.map((line) => separator + line).join('')}`;
}

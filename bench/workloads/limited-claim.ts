/**
 * What flow control costs a claim: one fresh edge-task-worker table holds four queues of due
 * tasks, `free` (no limits: the plain claim), `conc` (a concurrency limit that never binds),
 * `rate` (a rate limit that never binds) and `keyed` (1,000 concurrency keys, limit 1 each);
 * the last three take the limited claim (a transaction: claim locks, then the claim within
 * their room). Each is filled with one generate_series insert, then vacuumed and analyzed; the
 * limits are set through the client's `setQueueLimits`. Then, per batch size, claims of that
 * many tasks go out from this process over one node-postgres connection through the worker's
 * own `claimTasksWithLimits`, the four queues interleaved (so a change in the machine's load
 * hits each alike), each served by its own context (`queues: [queue]`); each claim's tasks are
 * completed through `writeBack`, untimed. Round trips and commits are included (localhost TCP,
 * fsync on). Reported: p50 and p99 per queue and batch size, and limited ÷ unlimited.
 *
 * The list of flow-controlled queues is looked up once a minute here (the worker's default is
 * every second, for every queue alike), so the times are those of the claim statements.
 * @module
 */
import { cpus, loadavg } from 'node:os';
import type { BenchSizes } from '../bench-options.ts';
import type { BenchNamespaces } from '../bench-namespaces.ts';
import type { ProgressDisplay } from '../progress-display.ts';
import { formatNumber, type TableStyle } from '../report/format-results.ts';
import { markdownTable, textTable } from '../report/text-table.ts';
import { median, percentile } from '../sample-stats.ts';
import { limitedClaimFill, schemaDrop, tasksVacuumAnalyze } from '../sql/bench-statements.ts';
import type { BenchEnvironment } from '../systems/queue-system.ts';
import { migrate } from '../../src/core/migrations/migrate.ts';
import { createPgDatabase } from '../../src/adapters/node/pg-database.ts';
import { claimTasksWithLimits, type ClaimContext } from '../../src/core/execution/claim.ts';
import { DEFAULT_RETRY_BACKOFF } from '../../src/core/retry-policy.ts';
import { createQueueLimitsClient } from '../../src/core/service/queue-limits.ts';
import { workerStatements } from '../../src/core/sql/worker-statements.ts';
import { writeBack } from '../../src/core/execution/write-back.ts';

const WARM_UP = 10;
const WORKER_ID = 'bench-limited-claim';
const LEASE_SECONDS = 30;
/** Keys of the `keyed` queue (limit 1 each): more than the largest batch, so none binds. */
const KEYS = 1_000;
const QUEUES = ['free', 'conc', 'rate', 'keyed'] as const;
type QueueName = (typeof QUEUES)[number];
const LIMITED = ['conc', 'rate', 'keyed'] as const satisfies readonly QueueName[];
type LimitedQueue = (typeof LIMITED)[number];
const DESCRIBE: Record<QueueName, string> = {
  free: 'no limits',
  conc: 'concurrency 100,000',
  rate: 'rate 1,000,000/s',
  keyed: `${KEYS.toLocaleString('en-US')} keys, limit 1`,
};

export interface LimitedClaimCell {
  /** Milliseconds per claim, round trip and commit included. */
  p50Ms: number;
  p99Ms: number;
}

export interface LimitedClaimBatch {
  /** Tasks per claim. */
  batch: number;
  queues: Record<QueueName, LimitedClaimCell>;
  /** Limited queue ÷ `free`, at p50 and at p99. */
  ratios: Record<LimitedQueue, { p50: number; p99: number }>;
}

export interface LimitedClaimResult {
  /** Due tasks of each queue at the start. */
  tasksPerQueue: number;
  /** Claims timed per queue and batch size (after WARM_UP untimed ones). */
  claims: number;
  fillSeconds: number;
  batches: LimitedClaimBatch[];
  /** 1, 5 and 15-minute load averages before the fill and after the last claim. */
  loadAverage: { start: number[]; end: number[] };
  cpus: number;
}

const loadNow = () => loadavg().map((load) => Math.round(load * 100) / 100);

export async function limitedClaimWorkload(run: {
  environment: BenchEnvironment;
  sizes: BenchSizes;
  namespaces: BenchNamespaces;
  progress: ProgressDisplay;
}): Promise<LimitedClaimResult> {
  const { limitedClaimTasks: tasksPerQueue, limitedClaims: claims, limitedClaimBatches: batches } = run.sizes;
  const needed = batches.reduce((sum, batch) => sum + (WARM_UP + claims) * batch, 0);
  if (needed > tasksPerQueue) {
    throw new Error(`limited-claim needs ${needed} tasks per queue, has ${tasksPerQueue}.`);
  }
  const start = loadNow();
  const schema = run.namespaces.next('claim');
  const db = createPgDatabase({
    connectionString: run.environment.databaseUrl,
    max: 1,
    applicationName: 'bench-limited-claim',
  });
  try {
    const fill = run.progress.start(
      'limited-claim',
      `4 × ${tasksPerQueue.toLocaleString('en-US')} due`,
      'fill',
    );
    await migrate(db, { schema });
    const fillStarted = performance.now();
    for (const queue of QUEUES) {
      await db.query(limitedClaimFill(schema), [queue, tasksPerQueue, queue === 'keyed' ? KEYS : null]);
    }
    // No executor has looked at these queues yet: nothing to wait for before the limits hold.
    const limits = createQueueLimitsClient(db, schema, { sleep: async () => {} });
    await limits.setQueueLimits('conc', { concurrency: 100_000 });
    await limits.setQueueLimits('rate', { rate: { limit: 1_000_000, periodSeconds: 1 } });
    await db.query(tasksVacuumAnalyze(schema));
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    const sql = workerStatements(schema);
    const { rows: controlled } = await db.query<{ queue: string }>(sql.flowControlledQueuesOf, [[...QUEUES]]);
    const limitedNames = controlled.map((row) => row.queue).sort();
    if (limitedNames.join() !== [...LIMITED].sort().join()) {
      throw new Error(
        `flow-controlled queues are [${limitedNames.join(', ')}], expected ${LIMITED.join(', ')}`,
      );
    }
    fill.done(`filled in ${fillSeconds.toFixed(1)} s`);

    const contexts = Object.fromEntries(
      QUEUES.map((queue): [QueueName, ClaimContext] => [
        queue,
        {
          db,
          sql,
          workerId: WORKER_ID,
          lease: LEASE_SECONDS,
          defaultRetries: 0,
          now: null,
          queues: [queue],
          flowControlMaxAgeMs: 60_000,
        },
      ]),
    ) as Record<QueueName, ClaimContext>;
    const writeBackContext = { db, sql, workerId: WORKER_ID, backoff: DEFAULT_RETRY_BACKOFF, now: null };
    const claimAndComplete = async (queue: QueueName, batch: number): Promise<number> => {
      const t0 = performance.now();
      const { tasks } = await claimTasksWithLimits(contexts[queue], batch);
      const ms = performance.now() - t0;
      if (tasks.length !== batch) throw new Error(`${queue}: claimed ${tasks.length} of ${batch}`);
      const landed = await writeBack(
        writeBackContext,
        tasks.map((task) => ({
          kind: 'complete' as const,
          id: task.id,
          attempt: task.attempt,
          token: task.token,
          name: task.name,
          json: 'null',
          duration: 0.0001,
        })),
      );
      if (landed.some((item) => item.status !== 'COMPLETED'))
        throw new Error(`${queue}: a task did not complete`);
      return ms;
    };

    const results: LimitedClaimBatch[] = [];
    for (const batch of batches) {
      const step = run.progress.start('limited-claim', `${batch} per claim`, `${claims} × 4 claims`);
      const times = Object.fromEntries(QUEUES.map((queue) => [queue, [] as number[]])) as Record<
        QueueName,
        number[]
      >;
      for (let i = 0; i < WARM_UP + claims; i++) {
        for (const queue of QUEUES) {
          const ms = await claimAndComplete(queue, batch);
          if (i >= WARM_UP) times[queue].push(ms);
        }
      }
      const cells = Object.fromEntries(
        QUEUES.map((queue) => [queue, { p50Ms: median(times[queue]), p99Ms: percentile(times[queue], 99) }]),
      ) as Record<QueueName, LimitedClaimCell>;
      const ratios = Object.fromEntries(
        LIMITED.map((queue) => [
          queue,
          { p50: cells[queue].p50Ms / cells.free.p50Ms, p99: cells[queue].p99Ms / cells.free.p99Ms },
        ]),
      ) as LimitedClaimBatch['ratios'];
      results.push({ batch, queues: cells, ratios });
      step.done(QUEUES.map((queue) => `${queue} p50 ${cells[queue].p50Ms.toFixed(2)} ms`).join(', '));
    }
    return {
      tasksPerQueue,
      claims,
      fillSeconds,
      batches: results,
      loadAverage: { start, end: loadNow() },
      cpus: cpus().length,
    };
  } finally {
    await db.query(schemaDrop(schema)).catch(() => undefined);
    await db.close();
  }
}

export function formatLimitedClaim(result: LimitedClaimResult, style: TableStyle): string {
  const header = ['tasks per claim', 'queue', 'limits', 'claim ms p50', 'p99', '÷ free p50', '÷ free p99'];
  const rows = result.batches.flatMap((batch) =>
    QUEUES.map((queue) => {
      const cell = batch.queues[queue];
      const ratio = queue === 'free' ? undefined : batch.ratios[queue];
      return [
        String(batch.batch),
        queue,
        DESCRIBE[queue],
        formatNumber(cell.p50Ms, 2),
        formatNumber(cell.p99Ms, 2),
        ratio ? `${ratio.p50.toFixed(2)}×` : '',
        ratio ? `${ratio.p99.toFixed(2)}×` : '',
      ];
    }),
  );
  const table = style === 'markdown' ? markdownTable(header, rows) : textTable(header, rows);
  const notes = [
    `4 queues × ${result.tasksPerQueue.toLocaleString('en-US')} due tasks, ${result.claims} timed claims per cell ` +
      `(queues interleaved; each claim's tasks completed, untimed); limits that never bind.`,
    `Load average (1/5/15 min) at the start: ${result.loadAverage.start.join(', ')}, ` +
      `at the end: ${result.loadAverage.end.join(', ')} on ${result.cpus} CPUs.`,
  ];
  const separator = style === 'markdown' ? '\n\n' : '\n';
  return `${style === 'markdown' ? '' : '## Limited vs unlimited claims\n'}${table}${notes.map((line) => separator + line).join('')}`;
}

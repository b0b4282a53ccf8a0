/**
 * An execution ledger read from the tasks table: when each run started (`started_at`, written
 * by the claim) and finished (`finished_at`, by the completion), in exact epoch microseconds.
 * A task is `PROGRESS` from a moment after its `started_at` to a moment after its `finished_at`,
 * and a claim counts running tasks with a snapshot taken after the finishes it saw committed,
 * so runs that the claim saw as finished never overlap the runs it started in this ledger.
 */
import type { Database } from '../../src/core/database.ts';

export interface LedgerRun {
  id: string;
  queue: string;
  key: string | null;
  /** Epoch microseconds. */
  start: number;
  end: number;
}

/** The finished runs of `queue` (COMPLETED tasks), by start. */
export async function readLedger(db: Database, schema: string, queue: string): Promise<LedgerRun[]> {
  const { rows } = await db.query(
    `select id, queue, concurrency_key,
            (extract(epoch from started_at) * 1000000)::int8 as start_us,
            (extract(epoch from finished_at) * 1000000)::int8 as end_us
     from "${schema}".tasks where queue = $1 and status = 'COMPLETED' order by started_at, id`,
    [queue],
  );
  return rows.map((row) => ({
    id: row.id as string,
    queue: row.queue as string,
    key: row.concurrency_key as string | null,
    start: Number(row.start_us),
    end: Number(row.end_us),
  }));
}

/** The most runs in progress at one instant (a run that ends when another starts does not overlap it). */
export function maxOverlap(runs: readonly LedgerRun[]): number {
  const events = runs.flatMap((run) => [
    { at: run.start, delta: 1 },
    { at: run.end, delta: -1 },
  ]);
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let now = 0;
  let max = 0;
  for (const event of events) {
    now += event.delta;
    max = Math.max(max, now);
  }
  return max;
}

/** The most starts in any window of `periodMs` (half-open: (s − period, s] for each start s). */
export function maxStartsPerWindow(runs: readonly LedgerRun[], periodMs: number): number {
  const starts = runs.map((run) => run.start).sort((a, b) => a - b);
  const period = periodMs * 1000;
  let max = 0;
  let first = 0;
  for (let i = 0; i < starts.length; i++) {
    while (starts[first]! <= starts[i]! - period) first++;
    max = Math.max(max, i - first + 1);
  }
  return max;
}

/** The largest overlap among the runs of any one concurrency key. */
export function maxOverlapPerKey(runs: readonly LedgerRun[]): Map<string, number> {
  const byKey = new Map<string, LedgerRun[]>();
  for (const run of runs) {
    if (run.key === null) continue;
    byKey.set(run.key, [...(byKey.get(run.key) ?? []), run]);
  }
  return new Map([...byKey].map(([key, keyed]) => [key, maxOverlap(keyed)]));
}

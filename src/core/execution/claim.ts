/**
 * Claiming: one statement takes up to N due tasks (`FOR UPDATE SKIP LOCKED`), marks them
 * `PROGRESS` with a lease and a new attempt, and returns them in claim order. Shared by every
 * executor. Edge-safe.
 * @module
 */
import type { Database } from '../database.ts';
import type { WorkerStatements } from '../sql/worker-statements.ts';

/** A task an executor now owns (until its lease expires, fenced by `attempt` and `token`). */
export interface ClaimedTask {
  id: string;
  name: string;
  /** `args` as JSON text; parsed where the handler runs. */
  argsJson: string;
  /** `kwargs` as JSON text. */
  kwargsJson: string;
  attempt: number;
  queue: string;
  priority: number;
  /** Seconds, or null for no timeout. */
  timeout: number | null;
  /**
   * The lease token this claim wrote: every write of this run (heartbeat, progress, outcome,
   * put-back) must match it. Unique per claim, unlike `(id, attempt)`: a claim lost in a
   * Postgres crash and the claim after it have the same attempt, never the same token.
   */
  token: string;
}

export interface ClaimContext {
  db: Database;
  sql: WorkerStatements;
  workerId: string;
  /** Lease seconds. */
  lease: number;
  /** max_retries for tasks created without one. */
  defaultRetries: number;
  /** Only these queues (default: all). */
  queues?: readonly string[] | undefined;
  /** ISO time, or null for the database clock. */
  now: string | null;
  /**
   * Only tasks with a timeout of at most this many seconds (not those without a timeout): the
   * cron executor's claim of what fits its budget. Default: any task (the container claim).
   */
  maxTimeout?: number | undefined;
}

/** Claims up to `limit` due tasks. */
export async function claimTasks(context: ClaimContext, limit: number): Promise<ClaimedTask[]> {
  const { db, sql, workerId, lease, defaultRetries, queues, now, maxTimeout } = context;
  const params: unknown[] = [limit, workerId, lease, defaultRetries, now];
  if (queues) params.push(queues);
  if (maxTimeout !== undefined) params.push(maxTimeout);
  const statement =
    maxTimeout === undefined
      ? queues
        ? sql.taskClaimForQueues
        : sql.taskClaim
      : queues
        ? sql.taskClaimFittingForQueues
        : sql.taskClaimFitting;
  const { rows } = await db.query(statement, params, { prepare: true });
  const tasks = rows.map((row) => ({
    id: row.id as string,
    name: row.name as string,
    argsJson: row.args_json as string,
    kwargsJson: row.kwargs_json as string,
    attempt: row.attempt as number,
    queue: row.queue as string,
    timeout: row.timeout as number | null,
    priority: row.priority as number,
    token: row.lease_token as string,
    // Epoch microseconds (int8, a string from most drivers): exact in a double until 2255.
    position: Number(row.position_us),
  }));
  // UPDATE ... RETURNING does not keep the claim's order; restore it.
  tasks.sort((a, b) => b.priority - a.priority || a.position - b.position || (a.id < b.id ? -1 : 1));
  return tasks.map(({ position: _position, ...task }) => task);
}

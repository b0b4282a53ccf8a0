/**
 * Claiming: one statement takes up to N due tasks (`FOR UPDATE SKIP LOCKED`), marks them
 * `PROGRESS` with a lease and a new attempt, and returns them in claim order. Shared by every
 * executor. Edge-safe.
 *
 * Flow control (queue limits, per-key concurrency; flow-control-statements.ts): while none of
 * the served queues is flow-controlled, the claim is the plain statement, as cheap as without
 * flow control (it only leaves keyed tasks alone). Which served queues are controlled (have
 * limits, or pending keyed tasks) is looked up at most every {@link FLOW_CONTROL_MAX_AGE_MS}
 * per executor (its statements object), and again after an empty plain claim; while some are,
 * the claim is the limited one: a transaction that takes those queues' claim locks, then
 * claims within their room, and says whether and how long due tasks wait for a limit.
 * @module
 */
import type { Database, Row } from '../database.ts';
import { ConfigError } from '../errors.ts';
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
  /** The creating span's W3C trace context (`traceparent`, then `tracestate` after a space), or null. */
  traceContext: string | null;
  /** Milliseconds from when the task became due (created, or its `runAt`) to this claim. */
  waitedMs: number;
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
  /**
   * Milliseconds the list of flow-controlled queues is reused before it is looked up again
   * (default: {@link FLOW_CONTROL_MAX_AGE_MS}; 0 looks it up before every claim).
   */
  flowControlMaxAgeMs?: number | undefined;
}

/** Why due tasks were left waiting by a limit (null: no limit held any back). */
export interface HeldBack {
  /** A due task waits for a running slot of its queue or of its concurrency key. */
  slots: boolean;
  /** A due task waits for its queue's rate window: milliseconds until there is room (else null). */
  retryInMs: number | null;
}

/** What one claim took, and whether limits left due tasks behind. */
export interface ClaimResult {
  tasks: ClaimedTask[];
  heldBack: HeldBack | null;
}

/**
 * How long an executor reuses its list of flow-controlled queues. Limits set on a queue that
 * had none reach every executor within this (see `setQueueLimits`); keyed tasks are never
 * claimed by the plain statement, so a stale list only delays them.
 */
export const FLOW_CONTROL_MAX_AGE_MS = 1000;
// After an empty plain claim the list is looked up again if it is at least this old: a keyed
// task in a queue the list does not name yet is invisible to the plain claim.
const EMPTY_CLAIM_RECHECK_MS = 250;

interface FlowControlState {
  controlled: readonly string[];
  loadedAt: number;
}

// Lists per statements object (one per container worker, one per cron run) and served queues.
const flowStates = new WeakMap<WorkerStatements, Map<string, FlowControlState>>();

/** Claims up to `limit` due tasks. */
export async function claimTasks(context: ClaimContext, limit: number): Promise<ClaimedTask[]> {
  return (await claimTasksWithLimits(context, limit)).tasks;
}

/** Claims up to `limit` due tasks, and says whether limits held due tasks back. */
export async function claimTasksWithLimits(context: ClaimContext, limit: number): Promise<ClaimResult> {
  let state = await flowControlState(context, false);
  if (state.controlled.length === 0) {
    const tasks = await plainClaim(context, limit);
    if (tasks.length > 0 || limit <= 0 || Date.now() - state.loadedAt < EMPTY_CLAIM_RECHECK_MS) {
      return { tasks, heldBack: null };
    }
    state = await flowControlState(context, true);
    if (state.controlled.length === 0) return { tasks, heldBack: null };
  }
  const first = await limitedClaim(context, limit, state.controlled);
  if (!first.stale) return { tasks: first.tasks, heldBack: first.heldBack };
  // Limits were set on a served queue since the list was made (the claim gave that queue no
  // room): look again, and claim for what is left with the new list.
  state = await flowControlState(context, true);
  const rest = limit - first.tasks.length;
  const more =
    state.controlled.length === 0
      ? { tasks: await plainClaim(context, rest), heldBack: null }
      : await limitedClaim(context, rest, state.controlled);
  return { tasks: [...first.tasks, ...more.tasks], heldBack: more.heldBack ?? first.heldBack };
}

/** The served queues that are flow-controlled, looked up when the list is too old or `fresh`. */
async function flowControlState(context: ClaimContext, fresh: boolean): Promise<FlowControlState> {
  const { db, sql, queues } = context;
  const queuesKey = queues ? JSON.stringify(queues) : '*';
  const maxAge = context.flowControlMaxAgeMs ?? FLOW_CONTROL_MAX_AGE_MS;
  let states = flowStates.get(sql);
  if (!states) flowStates.set(sql, (states = new Map()));
  const known = states.get(queuesKey);
  if (!fresh && known && Date.now() - known.loadedAt < maxAge) return known;
  const { rows } = queues
    ? await db.query(sql.flowControlledQueuesOf, [queues], { prepare: true })
    : await db.query(sql.flowControlledQueues, [], { prepare: true });
  const state = { controlled: rows.map((row) => row.queue as string).sort(), loadedAt: Date.now() };
  states.set(queuesKey, state);
  return state;
}

/** The plain claim: no queue served is flow-controlled. */
async function plainClaim(context: ClaimContext, limit: number): Promise<ClaimedTask[]> {
  const { db, sql, workerId, lease, defaultRetries, queues, now, maxTimeout } = context;
  if (limit <= 0) return [];
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
  return claimedTasks(rows);
}

/**
 * The limited claim: one transaction that takes the claim locks of the `controlled` queues,
 * then claims within their room (tasks of the other served queues as the plain claim would).
 */
async function limitedClaim(
  context: ClaimContext,
  limit: number,
  controlled: readonly string[],
): Promise<ClaimResult & { stale: boolean }> {
  const { db, sql, workerId, lease, defaultRetries, queues, now, maxTimeout } = context;
  if (limit <= 0) return { tasks: [], heldBack: null, stale: false };
  const params: unknown[] = [limit, workerId, lease, defaultRetries, now, controlled];
  if (queues) params.push(queues);
  if (maxTimeout !== undefined) params.push(maxTimeout);
  const statement =
    maxTimeout === undefined
      ? queues
        ? sql.taskClaimLimitedForQueues
        : sql.taskClaimLimited
      : queues
        ? sql.taskClaimLimitedFittingForQueues
        : sql.taskClaimLimitedFitting;
  const [locked, claimed] = await db.transaction([
    { text: sql.flowClaimLock, params: [controlled] },
    { text: statement, params },
  ]);
  const isolation = locked?.rows[0]?.isolation;
  if (isolation !== 'read committed') {
    throw new ConfigError(
      `Flow control needs transactions at "read committed" (the claim counts running tasks after taking its locks); this database starts them at "${String(isolation)}": reset default_transaction_isolation for the worker's role.`,
    );
  }
  const rows = claimed?.rows ?? [];
  const summary = rows.find((row) => row.id === null);
  const tasks = claimedTasks(rows.filter((row) => row.id !== null));
  const slots = summary?.held_slots === true;
  const retryInMs = summary?.retry_in_ms == null ? null : Math.max(0, Number(summary.retry_in_ms));
  return {
    tasks,
    heldBack: slots || retryInMs !== null ? { slots, retryInMs } : null,
    stale: summary?.stale === true,
  };
}

/** The claim's rows as tasks, in claim order (`UPDATE ... RETURNING` does not keep it). */
function claimedTasks(rows: readonly Row[]): ClaimedTask[] {
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
    traceContext: (row.trace_context as string | null) ?? null,
    waitedMs: Math.max(0, Number(row.waited_ms)),
    // Epoch microseconds (int8, a string from most drivers): exact in a double until 2255.
    position: Number(row.position_us),
  }));
  tasks.sort((a, b) => b.priority - a.priority || a.position - b.position || (a.id < b.id ? -1 : 1));
  return tasks.map(({ position: _position, ...task }) => task);
}

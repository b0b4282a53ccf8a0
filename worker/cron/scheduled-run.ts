/**
 * One run of the serverless executor: the "anything due?" hint first (Upstash, when bound),
 * so an idle queue costs no database request; then one maintainer tick (the election, the
 * plan, and the sweep and schedule firing when this run leads); then the due tasks within the
 * time budget; then the hint is settled with what the database said. Edge-safe.
 *
 * {@link runScheduled} takes its parts (database, schema, notifier, hint) injected: what
 * `createRunner` and `createRunHandler` (run-runner.ts, run-handler.ts) run on any platform;
 * {@link runScheduledOnce} builds them from the Cloudflare Worker's bindings per run, for its
 * cron trigger and its `/run` route.
 * @module
 */
import { hintSaysIdle, type DueHint, type DueHintReading } from '../../src/core/due-hint.ts';
import { publishTaskEvents, type TaskEvent } from '../../src/core/events/task-events.ts';
import type { SweptTask } from '../../src/core/execution/sweep.ts';
import { landedTaskEvents } from '../../src/core/execution/write-back.ts';
import type { Database } from '../../src/core/database.ts';
import type { Notifier } from '../../src/core/notifier.ts';
import {
  createMaintainer,
  firedTaskEvents,
  sweptTaskEvents,
  type FiredTask,
  type MaintenanceTick,
} from '../maintenance/maintainer.ts';
import type { ScheduleDefinition } from '../../src/core/schedule.ts';
import { createScheduleClient } from '../../src/core/service/schedule-client.ts';
import {
  emptyRunResult,
  runDueTasks,
  type InlineExecutorOptions,
  type InlineRunResult,
} from './inline-executor.ts';
import {
  databaseFromEnv,
  dueHintFromBindings,
  notifierFromBindings,
  schemaFromEnv,
  type TaskWorkerEnv,
} from './worker-env.ts';

/** What one cron run did (also logged as one JSON line). */
export interface ScheduledRunReport {
  /** The hint proved nothing was due: the run sent no database request. */
  skipped: boolean;
  /** Whether this run held the maintainer lease (then it swept and fired schedules). */
  leading: boolean;
  swept: SweptTask[];
  /** Tasks the schedules due created. */
  fired: FiredTask[];
  executed: InlineRunResult;
}

/** What a run reads and writes; the caller owns them (a run closes none). */
export interface RunParts {
  db: Database;
  schema: string;
  /** Publishes the events of the run's sweeps, fires and outcomes (default: none). */
  notifier?: Notifier | undefined;
  /** The "anything due?" hint (default: none: every run asks the database). */
  dueHint?: DueHint | undefined;
}

/** The executor options of a run, from `CloudflareWorkerOptions` or `RunHandlerOptions`. */
export type ScheduledRunOptions = Omit<
  InlineExecutorOptions,
  'db' | 'schema' | 'budgetMs' | 'workerId' | 'onLanded'
> & {
  /** Wall-clock budget of the run, in ms. */
  budgetMs: number;
  /** The longest a quiet hint is trusted, in ms: the database is asked at least this often. */
  hintMaxAgeMs: number;
  /**
   * Schedules the Worker declares, synced into the database by the first run of an isolate
   * that reaches it (`synced` is that isolate's memory of having done it).
   */
  schedules?: Record<string, ScheduleDefinition>;
  synced?: { done: boolean };
  /** Worker id prefix of the run's claims and maintainer lease (default: `cloudflare`). */
  workerIdPrefix?: string;
};

/** Reads the hint; undefined when unbound or unreachable (then the database is asked). */
async function readHint(hint: DueHint | undefined): Promise<DueHintReading | undefined> {
  return hint ? await hint.read().catch(() => undefined) : undefined;
}

/** One cron run against the Worker's bindings (its notifier is closed at the end). */
export async function runScheduledOnce(
  env: TaskWorkerEnv,
  options: ScheduledRunOptions,
): Promise<ScheduledRunReport> {
  const notifier = notifierFromBindings(env);
  try {
    const parts = { db: databaseFromEnv(env), schema: schemaFromEnv(env), dueHint: dueHintFromBindings(env) };
    return await runScheduled({ ...parts, notifier }, options);
  } finally {
    await closeQuietly(notifier);
  }
}

/** One run over injected parts: hint, maintainer tick, due tasks, hint settled. */
export async function runScheduled(
  parts: RunParts,
  options: ScheduledRunOptions,
): Promise<ScheduledRunReport> {
  const started = Date.now();
  const { db, schema, notifier, dueHint: hint } = parts;
  const reading = await readHint(hint);
  const mustSync = options.schedules !== undefined && options.synced?.done !== true;
  if (!mustSync && hintSaysIdle(reading, started)) {
    return { skipped: true, leading: false, swept: [], fired: [], executed: emptyRunResult() };
  }
  const pending: Promise<unknown>[] = [];
  const publish = (events: TaskEvent[]) => {
    if (notifier && events.length > 0) pending.push(publishTaskEvents(notifier, schema, events));
  };
  if (mustSync) {
    await createScheduleClient(db, schema).sync(options.schedules!);
    if (options.synced) options.synced.done = true;
  }
  const workerId = `${options.workerIdPrefix ?? 'cloudflare'}:${crypto.randomUUID().slice(0, 8)}`;
  const maintainer = createMaintainer({
    db,
    schema,
    holder: workerId,
    leaseSeconds: Math.ceil(options.budgetMs / 1000),
    backoff: options.backoff,
    queues: options.queues,
    listening: () => true,
    idleMs: options.hintMaxAgeMs,
  });
  const tick = await maintainer.tick();
  publish(sweptTaskEvents(tick.swept));
  publish(firedTaskEvents(tick.fired));
  const executed = dueNow(tick)
    ? await runDueTasks({
        ...options,
        db,
        schema,
        budgetMs: Math.max(0, options.budgetMs - (Date.now() - started)),
        workerId,
        onLanded: (landed) => publish(landedTaskEvents(landed)),
      })
    : emptyRunResult();
  await maintainer.stop(); // hands the lease on when this run led
  await Promise.all(pending);
  if (hint && reading) await settleHint(hint, reading, tick, executed);
  return { skipped: false, leading: tick.plan.leading, swept: tick.swept, fired: tick.fired, executed };
}

/** Whether the plan found due tasks (or the sweep just returned some). */
function dueNow(tick: MaintenanceTick): boolean {
  const { nextDue, now } = tick.plan;
  return (
    (nextDue !== null && nextDue <= now) ||
    tick.swept.some((task) => task.status === 'PENDING') ||
    tick.fired.length > 0
  );
}

/**
 * Records the check: a run that did anything (claimed, swept) may have left work due soon
 * (retries, put-backs), so the next tick asks again; an idle one trusts the plan's next time.
 */
async function settleHint(
  hint: DueHint,
  reading: DueHintReading,
  tick: MaintenanceTick,
  executed: InlineRunResult,
): Promise<void> {
  const busy = executed.claimed > 0 || tick.swept.length > 0 || tick.fired.length > 0;
  const nextAt = busy ? Date.now() : Date.now() + tick.wakeInMs;
  await hint.settle(reading, nextAt).catch(() => undefined);
}

async function closeQuietly(notifier: Notifier | undefined): Promise<void> {
  await notifier?.close().catch(() => undefined);
}

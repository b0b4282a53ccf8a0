/**
 * The maintainer (worker/maintenance/): one pass sweeps expired leases and applies retention
 * and reports what it did; the periodic driver runs passes on its interval, reports failing
 * jobs without stopping, and runs no pass once stopped. Real Postgres, injected clocks and
 * intervals; no fixed sleeps.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { SweptTask } from '../src/core/execution/sweep.ts';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { taskIdFloor } from '../src/core/task-id.ts';
import {
  createMaintainer,
  sweptTaskEvents,
  type MaintainerOptions,
  type MaintenanceJob,
} from '../worker/maintenance/maintainer.ts';
import { sweepExpiredTasks, deleteFinishedTasksInBatches } from '../src/core/execution/sweep.ts';
import { useTestSchema } from './support/test-schema.ts';
import { waitFor } from './support/wait-for.ts';

const t = useTestSchema('maintainer');
const client = () => createTaskClient({ database: t.db, schema: t.schema });
const DAY = 86_400_000;
const DEFAULT_INTERVAL = 10_000;

/** A task held by a worker that is gone, its lease ending at `leaseUntil`. */
async function leasedTask(maxRetries: number, leaseUntil: Date): Promise<string> {
  const task = await client().createTask('test.noop', { maxRetries });
  await t.db.query(
    `update ${t.schema}.tasks set status = 'PROGRESS', attempt = 1, worker_id = 'gone', lease_until = $2 where id = $1`,
    [task.id, leaseUntil],
  );
  return task.id;
}

/** A task with the id of one created at `time` (ids are time-ordered), in `status`. */
async function taskCreatedAt(time: number, n: number, status: string): Promise<string> {
  const id = `${taskIdFloor(time).slice(0, 8)}${'x'.repeat(13)}${n}`;
  await t.db.query(
    `insert into ${t.schema}.tasks (id, name, status, worker_id) values ($1, 'retention.task', $2, 'w')`,
    [id, status],
  );
  return id;
}

async function statuses(): Promise<Record<string, string>> {
  const { rows } = await t.db.query(`select id, status from ${t.schema}.tasks`);
  return Object.fromEntries(rows.map((row) => [row.id as string, row.status as string]));
}

beforeEach(async () => {
  await t.db.query(`delete from ${t.schema}.tasks`);
  await t.db.query(`delete from ${t.schema}.maintainer`);
});

/** A maintainer of this file's schema. */
const maintainerOf = (holder: string, options: Partial<MaintainerOptions> = {}) =>
  createMaintainer({ db: t.db, schema: t.schema, holder, ...options });

describe('maintainer.runOnce', () => {
  it('sweeps an expired lease back to PENDING, fails one with no retries left, and reports both', async () => {
    const now = new Date(Date.now() + DAY);
    // Leases that end before the injected clock, not before the database's.
    const retried = await leasedTask(1, new Date(now.getTime() - 1000));
    const failed = await leasedTask(0, new Date(now.getTime() - 1000));
    const held = await leasedTask(1, new Date(now.getTime() + 60_000));
    const reported: SweptTask[][] = [];
    const maintainer = createMaintainer({
      db: t.db,
      schema: t.schema,
      now: () => now,
      onSwept: (swept) => reported.push(swept),
    });

    const report = await maintainer.runOnce();

    const byId = Object.fromEntries(report.swept.map((task) => [task.id, task]));
    expect(report.swept).toHaveLength(2);
    expect(byId[retried]).toMatchObject({ status: 'PENDING', attempt: 1, workerId: null });
    expect(byId[failed]).toMatchObject({ status: 'FAILED', attempt: 1, workerId: 'gone' });
    expect(report.deleted).toBe(0);
    expect(reported).toEqual([report.swept]);
    expect(await client().getTask(retried)).toMatchObject({ status: 'PENDING', retryCount: 1 });
    expect(await client().getTask(failed)).toMatchObject({
      status: 'FAILED',
      errorType: 'LeaseExpiredError',
    });
    expect(await client().getTask(held)).toMatchObject({ status: 'PROGRESS' });
    expect(
      sweptTaskEvents(report.swept)
        .map((event) => [event.taskId, event.event])
        .sort(),
    ).toEqual(
      [
        [retried, 'task_requeued'],
        [failed, 'task_failed'],
      ].sort(),
    );
  });

  it('deletes final tasks older than retentionDays and reports the count', async () => {
    const old = Date.now() - 10 * DAY;
    const oldCompleted = await taskCreatedAt(old, 0, 'COMPLETED');
    await taskCreatedAt(old, 1, 'FAILED');
    await taskCreatedAt(old, 2, 'CANCELLED');
    const oldPending = await taskCreatedAt(old, 3, 'PENDING');
    const recent = await taskCreatedAt(Date.now() - DAY, 4, 'COMPLETED');
    const deletions: Array<[number, number]> = [];

    const keepAll = await createMaintainer({ db: t.db, schema: t.schema }).runOnce();
    expect(keepAll).toEqual({ swept: [], deleted: 0 });
    expect(Object.keys(await statuses())).toContain(oldCompleted);

    const report = await createMaintainer({
      db: t.db,
      schema: t.schema,
      retentionDays: 7,
      onDeleted: (count, days) => deletions.push([count, days]),
    }).runOnce();

    expect(report.deleted).toBe(3);
    expect(deletions).toEqual([[3, 7]]);
    expect(await statuses()).toEqual({ [oldPending]: 'PENDING', [recent]: 'COMPLETED' });
  });

  it('rejects with the failing job (the schema does not exist)', async () => {
    const maintainer = createMaintainer({ db: t.db, schema: `${t.schema}_missing` });
    await expect(maintainer.runOnce()).rejects.toThrow(/does not exist/);
  });
});

describe('the election', () => {
  it('elects one leader among concurrent candidates, and the others see who it is', async () => {
    const candidates = Array.from({ length: 8 }, (_, i) => maintainerOf(`candidate-${i}`));
    const ticks = await Promise.all(candidates.map((m) => m.tick()));
    const leaders = ticks.filter((tick) => tick.plan.leading);
    expect(leaders).toHaveLength(1);
    const holder = leaders[0]!.plan.holder;
    for (const tick of ticks) expect(tick.plan.holder === holder || tick.plan.leading).toBe(true);
    // Ticks that came after the winner's all name it.
    const again = await Promise.all(candidates.map((m) => m.tick()));
    expect(new Set(again.map((tick) => tick.plan.holder))).toEqual(new Set([holder]));
    expect(again.filter((tick) => tick.plan.leading)).toHaveLength(1);
  });

  it('hands over when the leader stops (at once) or dies (when its lease ends)', async () => {
    const a = maintainerOf('a', { leaseSeconds: 30 });
    const b = maintainerOf('b', { leaseSeconds: 30 });
    expect((await a.tick()).plan.leading).toBe(true);
    const follower = await b.tick();
    expect(follower.plan).toMatchObject({ leading: false, holder: 'a' });
    a.start();
    await a.stop(); // a clean stop hands the lease on
    expect((await b.tick()).plan).toMatchObject({ leading: true, holder: 'b' });

    // b "dies" holding the lease: a takes over only once the lease ended.
    const later = new Date(Date.now() + 31_000);
    expect((await a.tick()).plan).toMatchObject({ leading: false, holder: 'b' });
    const takeover = await maintainerOf('a', { now: () => later }).tick();
    expect(takeover.plan).toMatchObject({ leading: true, holder: 'a' });
  });

  it('a follower plans its takeover for the end of the leader lease when there is work', async () => {
    await maintainerOf('leader', { leaseSeconds: 20 }).tick();
    await leasedTask(1, new Date(Date.now() - 5000)); // expired: work for the leader
    const follower = maintainerOf('follower', { leaseSeconds: 20, listening: () => true });
    const { plan, wakeInMs, swept } = await follower.tick();
    expect(plan.leading).toBe(false);
    expect(swept).toEqual([]);
    // Not before the leader's lease ends, and not much after.
    expect(wakeInMs).toBeGreaterThan(15_000);
    expect(wakeInMs).toBeLessThanOrEqual(20_100);
  });

  it('fences the sweep and retention: a holder whose lease ended moves nothing', async () => {
    await maintainerOf('old-leader', { leaseSeconds: 30 }).tick();
    // A new leader after the old lease ended (on a clock 31 s ahead).
    const ahead = new Date(Date.now() + 31_000);
    await maintainerOf('new-leader', { now: () => ahead }).tick();
    const expired = await leasedTask(0, new Date(Date.now() - 1000));
    const old = await taskCreatedAt(Date.now() - 10 * DAY, 0, 'COMPLETED');

    const stale = await sweepExpiredTasks(t.db, { schema: t.schema, leader: 'old-leader' });
    expect(stale).toEqual([]);
    const staleDelete = await deleteFinishedTasksInBatches(t.db, {
      schema: t.schema,
      days: 7,
      leader: 'old-leader',
    });
    expect(staleDelete.deleted).toBe(0);
    expect(await statuses()).toMatchObject({ [expired]: 'PROGRESS', [old]: 'COMPLETED' });

    const swept = await sweepExpiredTasks(t.db, { schema: t.schema, leader: 'new-leader', now: ahead });
    expect(swept.map((task) => task.id)).toEqual([expired]);
  });

  it('only the leader sweeps in a tick', async () => {
    const expired = await leasedTask(1, new Date(Date.now() - 5000));
    const leader = maintainerOf('leader');
    const follower = maintainerOf('follower');
    await leader.tick(); // elected; sweeps at once
    expect((await statuses())[expired]).toBe('PENDING');
    const again = await leasedTask(1, new Date(Date.now() - 5000));
    expect((await follower.tick()).swept).toEqual([]);
    expect((await statuses())[again]).toBe('PROGRESS');
    expect((await leader.tick()).swept.map((task) => task.id)).toEqual([again]);
  });
});

describe('retention in bounded passes', () => {
  it('deletes at most retentionBatches × 1,000 rows per tick and finishes over the next ticks', async () => {
    const old = Date.now() - 10 * DAY;
    await t.db.query(
      `insert into ${t.schema}.tasks (id, name, status, worker_id)
       select $1 || lpad(n::text, 13, '0'), 'retention.bulk', 'COMPLETED', 'w' from generate_series(1, 2500) n`,
      [taskIdFloor(old).slice(0, 8)],
    );
    const maintainer = maintainerOf('leader', { retentionDays: 7, retentionBatches: 1 });
    const first = await maintainer.tick();
    expect(first.deleted).toBe(1000);
    expect(first.wakeInMs).toBeLessThanOrEqual(DEFAULT_INTERVAL); // more to do: soon
    expect((await maintainer.tick()).deleted).toBe(1000);
    expect((await maintainer.tick()).deleted).toBe(500);
    // Done: the next pass is an interval away, for every candidate.
    const after = await maintainer.tick();
    expect(after.deleted).toBe(0);
    expect(after.plan.retentionDueAt! - after.plan.now).toBeGreaterThan(3_500_000);
  });
});

describe('the plan of an idle queue', () => {
  it('sleeps idleMs with nothing in sight, until the next due task, or until a lease to sweep', async () => {
    const listening = { listening: () => true, idleMs: 600_000 };
    expect((await maintainerOf('m', listening).tick()).wakeInMs).toBe(600_000);
    expect((await maintainerOf('m').tick()).wakeInMs).toBe(DEFAULT_INTERVAL); // not listening: poll

    await client().createTask('test.noop', { delay: 120 });
    const delayed = await maintainerOf('m', listening).tick();
    expect(delayed.wakeInMs).toBeGreaterThan(115_000);
    expect(delayed.wakeInMs).toBeLessThanOrEqual(120_000);

    await leasedTask(1, new Date(Date.now() + 40_000));
    const leased = await maintainerOf('m', listening).tick();
    expect(leased.wakeInMs).toBeGreaterThan(35_000);
    expect(leased.wakeInMs).toBeLessThanOrEqual(41_000);
  });

  it('reports due tasks of the served queues only', async () => {
    let due = 0;
    await client().createTask('test.noop', { queue: 'other' });
    await maintainerOf('m', { queues: ['mine'], onDue: () => due++ }).tick();
    expect(due).toBe(0);
    await maintainerOf('m', { queues: ['mine', 'other'], onDue: () => due++ }).tick();
    expect(due).toBe(1);
    await maintainerOf('m', { onDue: () => due++ }).tick();
    expect(due).toBe(2);
  });
});

describe('maintainer.start', () => {
  it('ticks as planned, a poke brings the next tick forward, and nothing runs after stop()', async () => {
    let ticks = 0;
    const maintainer = maintainerOf('loop', {
      listening: () => true,
      idleMs: 600_000,
      onDue: () => ticks++,
    });
    await client().createTask('test.noop');
    maintainer.start();
    maintainer.start(); // idempotent
    await waitFor(() => ticks >= 1, { what: 'the first tick' });
    maintainer.poke();
    await waitFor(() => ticks >= 2, { what: 'a poked tick' });
    await maintainer.stop();
    const afterStop = ticks;
    maintainer.poke();
    // A control on a 20 ms cadence shows time passing while the stopped one runs nothing.
    let controlTicks = 0;
    const control = maintainerOf('control', { intervalMs: 20, onDue: () => controlTicks++ });
    control.start();
    await waitFor(() => controlTicks >= 3, { what: 'three ticks of the control' });
    await control.stop();
    expect(ticks).toBe(afterStop);
  });

  it('reports each failing job to onError and keeps ticking', async () => {
    const errors: MaintenanceJob[] = [];
    const maintainer = createMaintainer({
      db: t.db,
      schema: `${t.schema}_missing`,
      intervalMs: 20,
      onError: (error, job) => {
        expect(String(error)).toMatch(/does not exist/);
        errors.push(job);
      },
    });
    maintainer.start();
    await waitFor(() => errors.filter((job) => job === 'plan').length >= 2, { what: 'two failed plans' });
    await maintainer.stop();
  });
});

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
import { createMaintainer, sweptTaskEvents, type MaintenanceJob } from '../worker/maintenance/maintainer.ts';
import { useTestSchema } from './support/test-schema.ts';
import { waitFor } from './support/wait-for.ts';

const t = useTestSchema('maintainer');
const client = () => createTaskClient({ database: t.db, schema: t.schema });
const DAY = 86_400_000;

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
});

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

describe('maintainer.start', () => {
  it('runs a pass every intervalMs, sweeping what expires meanwhile, and none after stop()', async () => {
    let passes = 0;
    const maintainer = createMaintainer({
      db: t.db,
      schema: t.schema,
      intervalMs: 20,
      onSwept: () => passes++,
    });
    maintainer.start();
    maintainer.start(); // idempotent: still one pass per interval
    await waitFor(() => passes >= 2, { what: 'two passes' });
    const expired = await leasedTask(0, new Date(Date.now() - 1000));
    await waitFor(async () => (await statuses())[expired] === 'FAILED', { what: 'the expired lease swept' });

    await maintainer.stop();
    const afterStop = passes;
    // Another maintainer on the same interval shows time passing: three of its passes run
    // while the stopped one runs none.
    let controlPasses = 0;
    const control = createMaintainer({
      db: t.db,
      schema: t.schema,
      intervalMs: 20,
      onSwept: () => controlPasses++,
    });
    control.start();
    await waitFor(() => controlPasses >= 3, { what: 'three passes of the control' });
    await control.stop();
    expect(passes).toBe(afterStop);
  });

  it('reports each failing job to onError and keeps running passes', async () => {
    const errors: MaintenanceJob[] = [];
    const messages: string[] = [];
    const maintainer = createMaintainer({
      db: t.db,
      schema: `${t.schema}_missing`,
      retentionDays: 7,
      intervalMs: 20,
      onError: (error, job) => {
        errors.push(job);
        messages.push(String(error));
      },
    });
    maintainer.start();
    await waitFor(() => errors.filter((job) => job === 'sweep').length >= 2, { what: 'two failed sweeps' });
    await waitFor(() => errors.includes('retention'), { what: 'a failed retention run' });
    await maintainer.stop();
    for (const message of messages) expect(message).toMatch(/does not exist/);
  });
});

/**
 * The lease keeper (worker/container/lease-keeper.ts): its heartbeats extend the leases of the
 * tasks the worker holds, from the injected clock; a task it no longer owns is reported lost;
 * after stop() it extends nothing. Real Postgres, injected clock and interval; no fixed sleeps.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { claimTasks, type ClaimedTask } from '../src/core/execution/claim.ts';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { workerStatements } from '../src/core/sql/worker-statements.ts';
import { LeaseKeeper, type LeaseKeeperOptions } from '../worker/container/lease-keeper.ts';
import { useTestSchema } from './support/test-schema.ts';
import { waitFor } from './support/wait-for.ts';

const t = useTestSchema('lease_keeper');
const sql = () => workerStatements(t.schema);
const client = () => createTaskClient({ database: t.db, schema: t.schema });

/** Creates a task and claims it for `workerId` with a 30 s lease. */
async function claimedTask(workerId: string): Promise<ClaimedTask> {
  const task = await client().createTask('test.noop');
  const [claimed] = await claimTasks(
    { db: t.db, sql: sql(), workerId, lease: 30, defaultRetries: 0, now: null },
    1,
  );
  expect(claimed?.id).toBe(task.id);
  return claimed!;
}

async function leaseUntil(id: string): Promise<number> {
  const { rows } = await t.db.query(`select lease_until from ${t.schema}.tasks where id = $1`, [id]);
  return (rows[0]!.lease_until as Date).getTime();
}

/** A keeper for `tasks` that counts its heartbeats (each one asks for the owned tasks). */
function keeper(workerId: string, tasks: ClaimedTask[], options: Partial<LeaseKeeperOptions> = {}) {
  const state = { beats: 0, lost: [] as string[], errors: [] as string[] };
  const lease = new LeaseKeeper({
    db: t.db,
    sql: sql(),
    workerId,
    lease: 60,
    intervalMs: 20,
    now: () => null,
    owned: () => {
      state.beats++;
      return tasks;
    },
    onLost: (lost) => state.lost.push(...lost.map((task) => task.id)),
    onError: (error) => state.errors.push(String(error)),
    ...options,
  });
  return { lease, state };
}

beforeEach(async () => {
  await t.db.query(`delete from ${t.schema}.tasks`);
});

describe('lease keeper', () => {
  it('extends the lease of a running task on every heartbeat, from the injected clock', async () => {
    const task = await claimedTask('w-keeper');
    let now = new Date(Date.now() + 3_600_000);
    const { lease, state } = keeper('w-keeper', [task], { now: () => now.toISOString() });
    lease.start();
    await waitFor(async () => (await leaseUntil(task.id)) === now.getTime() + 60_000, {
      what: 'the lease extended to the injected now + 60 s',
    });
    now = new Date(now.getTime() + 5_000);
    await waitFor(async () => (await leaseUntil(task.id)) === now.getTime() + 60_000, {
      what: 'the lease extended again from the later now',
    });
    await lease.stop();
    expect(state.lost).toEqual([]);
    expect(state.errors).toEqual([]);
  });

  it('reports a task it no longer owns (cancelled) as lost', async () => {
    const kept = await claimedTask('w-lost');
    const cancelled = await claimedTask('w-lost');
    await client().cancelTask(cancelled.id);
    const { lease, state } = keeper('w-lost', [kept, cancelled]);
    lease.start();
    await waitFor(() => state.lost.length > 0, { what: 'a lost task' });
    await lease.stop();
    expect(new Set(state.lost)).toEqual(new Set([cancelled.id]));
  });

  it('stops extending after stop()', async () => {
    const task = await claimedTask('w-stopped');
    const { lease, state } = keeper('w-stopped', [task]);
    lease.start();
    await waitFor(async () => (await leaseUntil(task.id)) > Date.now() + 45_000, { what: 'a heartbeat' });
    await lease.stop();
    const beatsAtStop = state.beats;
    const shortened = new Date(Date.now() + 10_000);
    await t.db.query(`update ${t.schema}.tasks set lease_until = $2 where id = $1`, [task.id, shortened]);

    // A second keeper on the same interval shows time passing: three of its heartbeats run
    // while the stopped one sends none.
    const other = await claimedTask('w-control');
    const control = keeper('w-control', [other]);
    control.lease.start();
    await waitFor(() => control.state.beats >= 3, { what: 'three heartbeats of the control' });
    await control.lease.stop();

    expect(state.beats).toBe(beatsAtStop);
    expect(await leaseUntil(task.id)).toBe(shortened.getTime());
  });

  it('sends no heartbeat while it holds no task, and reports a failed one to onError', async () => {
    // Statements for a schema that does not exist: any heartbeat sent fails.
    const missing = { sql: workerStatements(`${t.schema}_missing`) };
    const idle = keeper('w-idle', [], missing);
    await idle.lease.beat();
    expect(idle.state).toEqual({ beats: 1, lost: [], errors: [] });

    const busy = keeper('w-busy', [await claimedTask('w-busy')], missing);
    await busy.lease.beat();
    expect(busy.state.lost).toEqual([]);
    expect(busy.state.errors).toEqual([expect.stringMatching(/does not exist/)]);
  });
});

/**
 * Leases: kill -9 a worker mid-task and another worker runs the task again after the lease
 * expires; the dead attempt's late completion is refused by fencing; heartbeats keep a long
 * task's lease alive; a claim (committed asynchronously) lost in a crash only means a re-run
 * (the same worker claiming it again is covered in fence-token.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { workerStatements } from '../src/core/sql/worker-statements.ts';
import { useTestSchema } from './support/test-schema.ts';
import { eventually, startWorkerProcess } from './support/worker-process.ts';

const t = useTestSchema('recovery');

describe('crash recovery', () => {
  it('re-runs the task of a kill -9 worker after its lease expires, and fences the dead attempt', async () => {
    const client = createTaskClient({ database: t.db, schema: t.schema });
    // No timeout: only the lease can recover it.
    const task = await client.createTask('test.sleep', { args: [2500], timeout: null, maxRetries: 1 });
    const first = startWorkerProcess({
      databaseUrl: t.databaseUrl,
      schema: t.schema,
      args: ['--lease', '2', '--poll-interval', '100'],
    });
    const running = await eventually(async () => {
      const row = await client.getTask(task.id);
      return row?.status === 'PROGRESS' ? row : undefined;
    });
    const { rows: held } = await t.db.query(
      `select lease_token::text as token from ${t.schema}.tasks where id = $1 and attempt = 1`,
      [task.id],
    );
    const deadToken = held[0]?.token as string;
    expect(deadToken).toMatch(/^[0-9a-f-]{36}$/);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const killedAt = Date.now();

    const second = startWorkerProcess({
      databaseUrl: t.databaseUrl,
      schema: t.schema,
      args: ['--lease', '2', '--poll-interval', '100'],
    });
    const done = await client.waitForCompletion(task.id, { timeout: 20 });
    expect(done).toMatchObject({ status: 'COMPLETED', result: 2500, attempt: 2, retryCount: 1 });
    expect(done!.errorHistory).toMatchObject([{ attempt: 1, type: 'LeaseExpiredError' }]);
    expect(done!.workerId).not.toBe(running.workerId);
    // Recovered in about the lease (2 s) plus sweep interval and back-off, not minutes.
    expect((done!.startedAt!.getTime() - killedAt) / 1000).toBeLessThan(6);
    // The 2.5 s run outlived the 2 s lease without being swept: heartbeats extended it.
    expect(done!.duration!).toBeGreaterThan(2.4);

    // The dead attempt's result arrives late: fencing refuses it and changes nothing.
    const sql = workerStatements(t.schema);
    const late = await t.db.query(sql.taskCompleteMany, [
      JSON.stringify([{ id: task.id, attempt: 1, token: deadToken, result: 'late', duration: 9 }]),
      running.workerId,
      null,
    ]);
    expect(late.rowCount).toBe(0);
    const lateFail = await t.db.query(sql.taskFailMany, [
      JSON.stringify([
        {
          id: task.id,
          attempt: 1,
          token: deadToken,
          error: 'late',
          error_type: 'Error',
          error_stack: null,
          duration: 1,
          retryable: true,
        },
      ]),
      running.workerId,
      null,
      1,
      10,
    ]);
    expect(lateFail.rowCount).toBe(0);
    expect(await client.getTask(task.id)).toEqual(done);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 40_000);

  it('a claim commits asynchronously for itself only, and a claim lost in a crash only means a fenced re-run', async () => {
    const client = createTaskClient({ database: t.db, schema: t.schema });
    const task = await client.createTask('test.noop');
    const sql = workerStatements(t.schema);
    const claimParams = (workerId: string) => [10, workerId, 30, 3, null];
    let lostToken: string | undefined;
    const session = await t.db.pool.connect();
    try {
      // Inside the claim's own transaction synchronous_commit is off; the session keeps its own.
      const before = (await session.query('show synchronous_commit')).rows[0].synchronous_commit;
      await session.query('begin');
      const lost = await session.query(sql.taskClaim, claimParams('w-lost'));
      expect(lost.rows.map((row) => [row.id, row.attempt])).toEqual([[task.id, 1]]);
      lostToken = lost.rows[0].lease_token;
      expect((await session.query('show synchronous_commit')).rows[0].synchronous_commit).toBe('off');
      // What a crash before the WAL reached the disk does to an asynchronous commit.
      await session.query('rollback');
      expect((await session.query('show synchronous_commit')).rows[0].synchronous_commit).toBe(before);
    } finally {
      session.release();
    }
    expect(await client.getTask(task.id)).toMatchObject({ status: 'PENDING', attempt: 0, workerId: null });

    // Another worker claims it again at the same attempt number; the lost run cannot complete it.
    const again = await t.db.query(sql.taskClaim, claimParams('w-next'));
    expect(again.rows.map((row) => [row.id, row.attempt])).toEqual([[task.id, 1]]);
    const complete = (workerId: string, token: string, result: number) =>
      t.db.query(sql.taskCompleteMany, [
        JSON.stringify([{ id: task.id, attempt: 1, token, result, duration: 0.001 }]),
        workerId,
        null,
      ]);
    expect(lostToken).toMatch(/^[0-9a-f-]{36}$/);
    expect((await complete('w-lost', lostToken!, 1)).rowCount).toBe(0);
    expect((await complete('w-next', again.rows[0]!.lease_token as string, 2)).rowCount).toBe(1);
    expect(await client.getTask(task.id)).toMatchObject({
      status: 'COMPLETED',
      result: 2,
      workerId: 'w-next',
    });
  });

  it('task-worker sweep fails an expired task with no retries left', async () => {
    const client = createTaskClient({ database: t.db, schema: t.schema });
    const task = await client.createTask('test.noop', { maxRetries: 0 });
    await t.db.query(
      `update ${t.schema}.tasks set status = 'PROGRESS', attempt = 1, worker_id = 'gone', lease_until = now() - interval '1 second' where id = $1`,
      [task.id],
    );
    const { spawn } = await import('node:child_process');
    const output = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/task-worker.js', 'sweep'], {
        env: { ...process.env, DATABASE_URL: t.databaseUrl, TASK_WORKER_SCHEMA: t.schema },
      });
      let stdout = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.on('exit', (code) => resolve({ code, stdout }));
    });
    expect(output.code).toBe(0);
    expect(output.stdout).toContain('0 task(s) back to PENDING, 1 FAILED');
    expect(await client.getTask(task.id)).toMatchObject({
      status: 'FAILED',
      errorType: 'LeaseExpiredError',
      leaseUntil: null,
    });
  });
});

describe('retention', () => {
  it('deletes final tasks older than the retention, keeps unfinished and recent ones', async () => {
    const { deleteFinishedTasks } = await import('../src/core/execution/sweep.ts');
    const { taskIdFloor } = await import('../src/core/task-id.ts');
    // Ids of tasks created at a given time: its time prefix plus any 14 characters.
    const idAt = (time: number, n: number) => `${taskIdFloor(time).slice(0, 8)}${'x'.repeat(13)}${n}`;
    const day = 86_400_000;
    const old = Date.now() - 10 * day;
    const rows: Array<[string, string]> = [
      [idAt(old, 0), 'COMPLETED'],
      [idAt(old, 1), 'FAILED'],
      [idAt(old, 2), 'CANCELLED'],
      [idAt(old, 3), 'PENDING'],
    ];
    for (const [id, status] of rows) {
      await t.db.query(
        `insert into ${t.schema}.tasks (id, name, status, worker_id) values ($1, 'retention.old', $2, 'w')`,
        [id, status],
      );
    }
    const recent = await createTaskClient({ database: t.db, schema: t.schema }).createTask(
      'retention.recent',
    );
    await t.db.query(`update ${t.schema}.tasks set status = 'COMPLETED' where id = $1`, [recent.id]);
    expect(await deleteFinishedTasks(t.db, { schema: t.schema, days: 7, batchSize: 2 })).toBe(3);
    const { rows: left } = await t.db.query(
      `select id, status from ${t.schema}.tasks where name like 'retention.%' order by id`,
    );
    expect(left).toEqual([
      { id: rows[3]![0], status: 'PENDING' },
      { id: recent.id, status: 'COMPLETED' },
    ]);
  });
});

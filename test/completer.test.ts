/**
 * The completer against one bad row, a failing callback and a dead database. Once, one row
 * Postgres refused made the whole batch fail and retry forever (the other tasks in it ran again
 * after their lease), a throwing `onLanded` put rows that had landed back in the queue, and a
 * retry timer could keep a process alive. The errors here are real Postgres errors on a real
 * schema: a CHECK constraint added to this file's own test schema refuses one task's row, and
 * a NUL character is sent where Postgres refuses it.
 */
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createPgDatabase } from '../src/adapters/node/pg-database.ts';
import { DatabaseError } from '../src/core/database.ts';
import { claimTasks } from '../src/core/execution/claim.ts';
import { isPermanentWriteBackError, type Landed } from '../src/core/execution/write-back.ts';
import { DEFAULT_RETRY_BACKOFF } from '../src/core/retry-policy.ts';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { workerStatements } from '../src/core/sql/worker-statements.ts';
import { Completer, type CompleterOptions, type WriteBack } from '../worker/container/completer.ts';
import { freePort } from './support/services.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('completer');
const WORKER = 'completer-test';

/** Creates `count` tasks on a queue of their own and claims them as {@link WORKER}. */
async function claimed(queue: string, count: number) {
  const client = createTaskClient({ database: t.db, schema: t.schema });
  await client.createTasks(Array.from({ length: count }, () => ({ name: 'app.x', queue, maxRetries: 0 })));
  const tasks = await claimTasks(
    {
      db: t.db,
      sql: workerStatements(t.schema),
      workerId: WORKER,
      lease: 60,
      defaultRetries: 0,
      queues: [queue],
      now: null,
    },
    count,
  );
  expect(tasks).toHaveLength(count);
  return tasks;
}

const complete = (task: { id: string; attempt: number; token?: string }, value: unknown): WriteBack => ({
  kind: 'complete',
  id: task.id,
  attempt: task.attempt,
  token: task.token ?? 'none',
  name: 'app.x',
  json: JSON.stringify(value),
  duration: 0.01,
});

const fail = (task: { id: string; attempt: number; token: string }, message: string): WriteBack => ({
  kind: 'fail',
  id: task.id,
  attempt: task.attempt,
  token: task.token,
  name: 'app.x',
  error: { message, type: 'Error', stack: null, nonRetryable: false },
  duration: 0.01,
  retryable: true,
});

/** A completer on the test schema that records what it reports. */
function completer(overrides: Partial<CompleterOptions> = {}) {
  const landed: Landed[] = [];
  const errors: unknown[] = [];
  const instance = new Completer({
    db: t.db,
    sql: workerStatements(t.schema),
    workerId: WORKER,
    backoff: DEFAULT_RETRY_BACKOFF,
    onLanded: (items) => landed.push(...items),
    onError: (error) => errors.push(error),
    ...overrides,
  });
  return { completer: instance, landed, errors };
}

async function rows(ids: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
  const { rows: found } = await t.db.query(
    `select id, status, result, error, error_type, worker_id from "${t.schema}".tasks where id = any($1::text[])`,
    [ids],
  );
  return new Map(found.map((row) => [row.id as string, row]));
}

/** Adds a CHECK constraint refusing some rows for the duration of `body`. */
async function withConstraint(check: string, body: () => Promise<void>): Promise<void> {
  await t.db.query(`alter table "${t.schema}".tasks add constraint refuse_one check (${check})`);
  try {
    await body();
  } finally {
    await t.db.query(`alter table "${t.schema}".tasks drop constraint refuse_one`);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('which write-back errors a retry cannot fix', () => {
  it('data (22), integrity (23), syntax or undefined object (42) and limits (54) are permanent', () => {
    const error = (code: string) => new DatabaseError('x', { code });
    for (const code of ['22P05', '22P02', '22001', '23514', '23505', '42P01', '42703', '54000']) {
      expect([code, isPermanentWriteBackError(error(code))]).toEqual([code, true]);
    }
  });

  it('connection, serialization, resource and shutdown errors are retried', () => {
    const error = (code: string) => new DatabaseError('x', { code });
    for (const code of ['08006', '08001', '40001', '40P01', '53300', '57P01', '58000', 'XX000', '']) {
      expect([code, isPermanentWriteBackError(error(code))]).toEqual([code, false]);
    }
    expect(isPermanentWriteBackError(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toBe(
      false,
    );
    expect(isPermanentWriteBackError(new Error('no code'))).toBe(false);
    expect(isPermanentWriteBackError(undefined)).toBe(false);
  });
});

describe('a batch with a row Postgres refuses for good', () => {
  it('lands the good rows once and fails the refused one with a stored-instead error', async () => {
    const tasks = await claimed('split', 6);
    const bad = tasks[2]!;
    await withConstraint(`id <> '${bad.id}' or status <> 'COMPLETED'`, async () => {
      const { completer: c, landed, errors } = completer();
      tasks.slice(0, 5).forEach((task, i) => c.add(complete(task, { n: i })));
      c.add(fail(tasks[5]!, 'the handler failed'));
      expect(await c.drain(5000)).toBe(0);

      // Every row reported once; none as refused by fencing (which a re-sent row would be).
      expect(landed.map((l) => l.item.id).sort()).toEqual(tasks.map((task) => task.id).sort());
      expect(landed.filter((l) => l.status === null)).toEqual([]);
      const badLanded = landed.find((l) => l.item.id === bad.id)!;
      expect(badLanded.status).toBe('FAILED');
      expect(badLanded.item).toMatchObject({ kind: 'fail', error: { type: 'WriteBackError' } });

      const stored = await rows(tasks.map((task) => task.id));
      for (const [i, task] of tasks.slice(0, 5).entries()) {
        if (task === bad) continue;
        expect(stored.get(task.id)).toMatchObject({ status: 'COMPLETED', result: { n: i } });
      }
      expect(stored.get(tasks[5]!.id)).toMatchObject({ status: 'FAILED', error: 'the handler failed' });
      expect(stored.get(bad.id)).toMatchObject({
        status: 'FAILED',
        error_type: 'WriteBackError',
        result: null,
      });
      expect(stored.get(bad.id)!.error).toMatch(/^result could not be stored: 23514 .*refuse_one/);
      // The refusal is reported; nothing is retried afterwards.
      expect(errors.map(String).join('\n')).toMatch(/refuse_one/);
      const reported = errors.length;
      await sleep(400);
      expect(errors.length).toBe(reported);
      expect(c.pending).toBe(0);
    });
  });

  it('does not send again the completions that landed when the failures statement was refused', async () => {
    const tasks = await claimed('mixed', 3);
    const { completer: c, landed } = completer();
    // A NUL is refused by jsonb (22P05): the failures statement fails, the completions land.
    c.add(complete(tasks[0]!, 'one'));
    c.add(complete(tasks[1]!, 'two'));
    c.add(fail(tasks[2]!, 'bad\u0000text'));
    expect(await c.drain(5000)).toBe(0);
    expect(landed.map((l) => [l.item.id, l.status])).toEqual(
      expect.arrayContaining([
        [tasks[0]!.id, 'COMPLETED'],
        [tasks[1]!.id, 'COMPLETED'],
        [tasks[2]!.id, 'FAILED'],
      ]),
    );
    expect(landed).toHaveLength(3);
    const stored = await rows(tasks.map((task) => task.id));
    expect(stored.get(tasks[0]!.id)).toMatchObject({ status: 'COMPLETED', result: 'one' });
    expect(stored.get(tasks[2]!.id)).toMatchObject({ status: 'FAILED', error_type: 'WriteBackError' });
    expect(stored.get(tasks[2]!.id)!.error).toMatch(/^error could not be stored: 22P05 /);
  });

  it('drops a row whose fallback is refused too, leaving it to its lease, and lands the rest', async () => {
    const tasks = await claimed('drop', 4);
    const bad = tasks[1]!;
    await withConstraint(`id <> '${bad.id}' or status = 'PROGRESS'`, async () => {
      const { completer: c, landed, errors } = completer();
      for (const task of tasks) c.add(complete(task, task.id));
      expect(await c.drain(5000)).toBe(0);
      expect(landed.map((l) => l.item.id).sort()).toEqual(
        tasks
          .filter((task) => task !== bad)
          .map((task) => task.id)
          .sort(),
      );
      expect(landed.every((l) => l.status === 'COMPLETED')).toBe(true);
      const stored = await rows(tasks.map((task) => task.id));
      expect(stored.get(bad.id)).toMatchObject({ status: 'PROGRESS', worker_id: WORKER });
      expect(errors.map(String).join('\n')).toContain(`dropped the write-back of task ${bad.id}`);
      const reported = errors.length;
      await sleep(400);
      expect(errors.length).toBe(reported);
      expect(c.pending).toBe(0);
    });
  });
});

describe('a landed callback that throws', () => {
  it('is reported, and the rows it was given are not written again', async () => {
    const tasks = await claimed('callback', 3);
    const calls: Landed[][] = [];
    const callbackErrors: unknown[] = [];
    const { completer: c } = completer({
      onLanded: (items) => {
        calls.push(items);
        if (calls.length === 1) throw new Error('the callback broke');
      },
      onLandedError: (error) => callbackErrors.push(error),
    });
    for (const task of tasks) c.add(complete(task, 1));
    expect(await c.drain(5000)).toBe(0);
    await sleep(300);
    const reported = calls.flat();
    expect(reported.map((l) => [l.item.id, l.status])).toEqual(tasks.map((task) => [task.id, 'COMPLETED']));
    expect(callbackErrors.map(String)).toEqual(['Error: the callback broke']);
    const stored = await rows(tasks.map((task) => task.id));
    expect([...stored.values()].every((row) => row.status === 'COMPLETED')).toBe(true);
  });
});

describe('close', () => {
  const deadDb = async () =>
    createPgDatabase({ connectionString: `postgres://nobody:x@127.0.0.1:${await freePort()}/none`, max: 1 });

  it('stops retrying a dead database and resolves at once', async () => {
    const db = await deadDb();
    const { completer: c, errors } = completer({ db });
    c.add(complete({ id: 'a'.repeat(22), attempt: 1 }, 1));
    // Wait for the first failure: a retry is scheduled now.
    const deadline = Date.now() + 5000;
    while (errors.length === 0 && Date.now() < deadline) await sleep(10);
    expect(errors.length).toBe(1);
    const started = Date.now();
    expect(await c.close()).toBe(1);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(String(errors.at(-1))).toMatch(/gave up writing back 1 result/);
    const reported = errors.length;
    await sleep(800); // retries came after 100, 200, 400 ms
    expect(errors.length).toBe(reported);
    c.add(complete({ id: 'b'.repeat(22), attempt: 1 }, 1));
    expect(c.pending).toBe(0);
    await db.close();
  });

  /** Runs a script in a child Node process; resolves with its exit code, or 'hung' after `ms`. */
  async function runChild(script: string, ms: number): Promise<{ code: number | string; output: string }> {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | string>((resolve) =>
      child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
    );
    const code = await Promise.race([exited, sleep(ms).then(() => 'hung' as const)]);
    if (code === 'hung') {
      child.kill('SIGKILL');
      await exited;
    }
    return { code, output };
  }

  const childScript = async (body: string) => {
    const url = (path: string) => JSON.stringify(pathToFileURL(path).href);
    return `
      import { createPgDatabase } from ${url('src/adapters/node/pg-database.ts')};
      import { DEFAULT_RETRY_BACKOFF } from ${url('src/core/retry-policy.ts')};
      import { workerStatements } from ${url('src/core/sql/worker-statements.ts')};
      import { Completer } from ${url('worker/container/completer.ts')};
      const db = createPgDatabase({ connectionString: 'postgres://nobody:x@127.0.0.1:${await freePort()}/none', max: 1 });
      let failures = 0;
      const completer = new Completer({
        db, sql: workerStatements('task_worker'), workerId: 'child', backoff: DEFAULT_RETRY_BACKOFF,
        onLanded: () => undefined,
        onError: () => failures++,
      });
      completer.add({
        kind: 'complete',
        id: 'a'.repeat(22),
        attempt: 1,
        token: 'none',
        name: 'x',
        json: '1',
        duration: 0,
      });
      while (failures === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      ${body}
    `;
  };

  it('lets a process exit on its own after close(), with the database down', async () => {
    const { code, output } = await runChild(
      await childScript(`console.log('closed', await completer.close());`),
      8000,
    );
    expect({ code, output: output.trim() }).toEqual({ code: 0, output: 'closed 1' });
  });

  it('never keeps a process alive with its retry timer, even without close()', async () => {
    const { code, output } = await runChild(
      await childScript(`console.log('left', completer.pending);`),
      8000,
    );
    expect({ code, output: output.trim() }).toEqual({ code: 0, output: 'left 1' });
  });
});

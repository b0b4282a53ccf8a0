/**
 * Dead letters through the client against a real Postgres: `redriveFailed` (filters, limit,
 * dry run, batches, uniqueKey skips, wake-ups, the due hint, validation) and `failureReasons`,
 * and a running worker that picks the redriven tasks up.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTaskClient, type TaskClient } from '../src/core/service/task-client.ts';
import { createMemoryNotifier } from '../src/adapters/edge/memory-notifier.ts';
import {
  anyQueueChannel,
  parseTaskEvent,
  queueChannel,
  type TaskEvent,
} from '../src/core/events/task-events.ts';
import type { DueHint } from '../src/core/due-hint.ts';
import type { Notifier } from '../src/core/notifier.ts';
import { TaskValidationError } from '../src/core/errors.ts';
import { runWorker } from '../worker/container/run-worker.ts';
import { silentLogger } from '../worker/container/logger.ts';
import { countingDatabase } from './support/drivers.ts';
import { waitFor } from './support/wait-for.ts';
import { createFailedTask, type FailedTaskOptions } from './support/failed-task.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('redrive');

let notifier: Notifier;
let client: TaskClient;
let marks = 0;
const dueHint: DueHint = {
  mark: () => {
    marks++;
    return Promise.resolve();
  },
  read: () => Promise.reject(new Error('not used')),
  settle: () => Promise.resolve(),
};

beforeAll(() => {
  notifier = createMemoryNotifier();
  client = createTaskClient({ database: t.db, schema: t.schema, notifier, dueHint });
});
afterAll(async () => {
  await notifier.close();
});
beforeEach(async () => {
  await t.db.query(`truncate ${t.schema}.tasks`);
  marks = 0;
});

/** A FAILED task (see support/failed-task.ts). */
function failed(options: FailedTaskOptions = {}): Promise<string> {
  return createFailedTask(client, t.db, t.schema, options);
}

async function statuses(): Promise<Record<string, string>> {
  const { rows } = await t.db.query(`select id, status from ${t.schema}.tasks`);
  return Object.fromEntries(rows.map((row) => [row.id as string, row.status as string]));
}

function pendingIds(all: Record<string, string>): string[] {
  return Object.keys(all)
    .filter((id) => all[id] === 'PENDING')
    .sort();
}

describe('redriveFailed', () => {
  it('moves a FAILED task back to PENDING exactly like retryTask', async () => {
    const viaRedrive = await failed();
    const viaRetry = await failed({ queue: 'other' });
    await client.redriveFailed({ queue: 'default' });
    await client.retryTask(viaRetry);
    const { rows } = await t.db.query(
      `select id, status, retry_count, attempt, error, error_type, error_stack, error_history, result, progress,
              lease_until, worker_id, started_at, finished_at, duration, run_at <= now() as due,
              run_at > now() - interval '1 minute' as fresh
       from ${t.schema}.tasks order by id`,
    );
    const strip = (row: Record<string, unknown>) => ({ ...row, id: undefined });
    expect(rows.map((row) => row.id)).toEqual([viaRedrive, viaRetry]);
    expect(strip(rows[0]!)).toEqual(strip(rows[1]!));
    expect(rows[0]).toMatchObject({
      status: 'PENDING',
      retry_count: 0,
      attempt: 2,
      error: null,
      error_type: null,
      finished_at: null,
      error_history: [{ attempt: 1, error: 'first' }],
      due: true,
      fresh: true,
    });
  });

  it('applies every filter: name, queue, error type, failed from and to', async () => {
    const a = await failed({ name: 'test.noop', queue: 'q1', errorType: 'TypeError', failedAgo: 3600 });
    const b = await failed({ name: 'test.echo', queue: 'q1', errorType: 'TypeError', failedAgo: 60 });
    const c = await failed({ name: 'test.noop', queue: 'q2', errorType: 'RangeError', failedAgo: 60 });
    const d = await failed({ name: 'test.noop', queue: 'q1', errorType: 'RangeError', failedAgo: 7200 });
    const pending = await client.createTask('test.noop', { queue: 'q1' });
    const cases: Array<[Parameters<TaskClient['redriveFailed']>[0], string[]]> = [
      [{ name: 'test.echo' }, [b]],
      [{ queue: 'q2' }, [c]],
      [{ errorType: 'RangeError' }, [c, d]],
      [{ from: new Date(Date.now() - 600_000) }, [b, c]],
      [{ to: new Date(Date.now() - 600_000).toISOString() }, [a, d]],
      [{ from: new Date(Date.now() - 5000_000), to: new Date(Date.now() - 1800_000) }, [a]],
      [{ name: 'test.noop', queue: 'q1', errorType: 'RangeError' }, [d]],
      [{}, [a, b, c, d]],
    ];
    for (const [filters, expected] of cases) {
      const dry = await client.redriveFailed({ ...filters, dryRun: true });
      expect(dry, JSON.stringify(filters)).toEqual({
        matched: expected.length,
        redriven: 0,
        skipped: 0,
        taskIds: [],
        skippedTaskIds: [],
        dryRun: true,
      });
      const result = await client.redriveFailed(filters);
      expect(result.taskIds, JSON.stringify(filters)).toEqual([...expected].sort());
      expect(result).toMatchObject({ matched: expected.length, redriven: expected.length, dryRun: false });
      expect(pendingIds(await statuses())).toEqual([...expected, pending.id].sort());
      // Put them back for the next case.
      await t.db.query(`update ${t.schema}.tasks set status = 'FAILED' where id = any($1)`, [expected]);
      await t.db.query(`update ${t.schema}.tasks set error_type = 'TypeError' where id = any($1)`, [[a, b]]);
      await t.db.query(`update ${t.schema}.tasks set error_type = 'RangeError' where id = any($1)`, [[c, d]]);
      await t.db.query(
        `update ${t.schema}.tasks set finished_at = now() - make_interval(secs => case id
           when $1 then 3600 when $2 then 60 when $3 then 60 else 7200 end) where id = any($4)`,
        [a, b, c, [a, b, c, d]],
      );
    }
  });

  it('leaves COMPLETED, CANCELLED, PENDING and PROGRESS tasks alone', async () => {
    const ids = await Promise.all(['COMPLETED', 'CANCELLED', 'PENDING'].map(() => failed()));
    await t.db.query(`update ${t.schema}.tasks set status = 'COMPLETED' where id = $1`, [ids[0]]);
    await t.db.query(`update ${t.schema}.tasks set status = 'CANCELLED' where id = $1`, [ids[1]]);
    await t.db.query(
      `update ${t.schema}.tasks set status = 'PROGRESS', worker_id = 'w', lease_until = now() + interval '1 minute'
       where id = $1`,
      [ids[2]],
    );
    marks = 0; // createTask counted its own changes
    const result = await client.redriveFailed();
    expect(result).toMatchObject({ matched: 0, redriven: 0, taskIds: [] });
    expect(marks).toBe(0);
  });

  it('moves at most `limit`, oldest first, and counts every match', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await failed());
    const result = await client.redriveFailed({ limit: 2 });
    expect(result).toMatchObject({ matched: 5, redriven: 2, skipped: 0, taskIds: ids.slice(0, 2) });
    const next = await client.redriveFailed({ limit: 10 });
    expect(next).toMatchObject({ matched: 3, redriven: 3, taskIds: ids.slice(2) });
  });

  it('dry run changes nothing, publishes nothing and counts no change', async () => {
    const id = await failed();
    const heard = await listenAll();
    marks = 0; // createTask counted its own change
    const result = await client.redriveFailed({ dryRun: true });
    expect(result).toMatchObject({ matched: 1, redriven: 0, dryRun: true });
    expect((await statuses())[id]).toBe('FAILED');
    expect(heard.events).toEqual([]);
    expect(marks).toBe(0);
    await heard.stop();
  });

  it('works in batches of 1,000, publishing one wake-up per queue and batch, and counts one change', async () => {
    await t.db.query(
      `insert into ${t.schema}.tasks (id, name, queue, status, error_type, finished_at)
       select lpad(i::text, 22, '0'), 'test.noop', case when i % 2 = 0 then 'even' else 'odd' end,
              'FAILED', 'TypeError', now()
       from generate_series(1, 2500) as i`,
    );
    const db = countingDatabase(t.db);
    const counted = createTaskClient({ database: db, schema: t.schema, notifier, dueHint });
    const heard = await listenAll();
    const result = await counted.redriveFailed({ limit: 2200 });
    expect(result).toMatchObject({ matched: 2500, redriven: 2200, skipped: 0 });
    expect(result.taskIds[0]).toBe('1'.padStart(22, '0'));
    expect(result.taskIds.at(-1)).toBe('2200'.padStart(22, '0'));
    // The count, then 1,000 + 1,000 + 200.
    expect(db.statements).toHaveLength(4);
    await waitFor(() => heard.events.length >= 9, { what: 'the wake-ups' });
    const onQueue = (queue: string) => heard.byChannel.get(queueChannel(t.schema, queue)) ?? [];
    expect(onQueue('even')).toHaveLength(3);
    expect(onQueue('odd')).toHaveLength(3);
    // The all-queues channel takes one wake-up per publish, i.e. per batch.
    expect(heard.byChannel.get(anyQueueChannel(t.schema))).toHaveLength(3);
    expect(heard.events.every((event) => event.event === 'task_requeued' && event.status === 'PENDING')).toBe(
      true,
    );
    expect(marks).toBe(1);
    expect(await client.redriveFailed({ limit: 100_000 })).toMatchObject({ matched: 300, redriven: 300 });
    await heard.stop();
  });

  it('refuses bad filters and limits with typed errors, before any query', async () => {
    const db = countingDatabase(t.db);
    const strict = createTaskClient({ database: db, schema: t.schema });
    const cases: Array<[unknown, string, string]> = [
      [{ name: 'bad name!' }, 'INVALID_NAME', 'name'],
      [{ name: '' }, 'INVALID_NAME', 'name'],
      [{ queue: 'x'.repeat(101) }, 'INVALID_QUEUE', 'queue'],
      [{ queue: 'a\u0000b' }, 'INVALID_QUEUE', 'queue'],
      [{ errorType: '' }, 'INVALID_ERROR_TYPE', 'errorType'],
      [{ errorType: 'x'.repeat(257) }, 'INVALID_ERROR_TYPE', 'errorType'],
      [{ errorType: 5 }, 'INVALID_ERROR_TYPE', 'errorType'],
      [{ from: 'yesterday' }, 'INVALID_TIME_RANGE', 'from'],
      [{ to: new Date(Number.NaN) }, 'INVALID_TIME_RANGE', 'to'],
      [{ from: '2025-02-01T00:00:00Z', to: '2025-01-01T00:00:00Z' }, 'INVALID_TIME_RANGE', 'to'],
      [{ limit: 0 }, 'INVALID_LIMIT', 'limit'],
      [{ limit: 100_001 }, 'INVALID_LIMIT', 'limit'],
      [{ limit: 1.5 }, 'INVALID_LIMIT', 'limit'],
      [{ limit: '5' }, 'INVALID_LIMIT', 'limit'],
      [{ dryRun: 'yes' }, 'INVALID_OPTIONS', 'dryRun'],
      [{ status: 'FAILED' }, 'INVALID_OPTIONS', 'status'],
      ['queue', 'INVALID_OPTIONS', 'options'],
    ];
    for (const [options, code, field] of cases) {
      const call = strict.redriveFailed(options as never);
      await expect(call, JSON.stringify(options)).rejects.toBeInstanceOf(TaskValidationError);
      await expect(strict.redriveFailed(options as never)).rejects.toMatchObject({ code, field });
    }
    await expect(strict.failureReasons({ limit: 101 })).rejects.toMatchObject({ code: 'INVALID_LIMIT' });
    await expect(strict.failureReasons({ dryRun: true } as never)).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
    });
    expect(db.statements).toEqual([]);
  });
});

describe('failureReasons', () => {
  it('groups FAILED tasks by error type: count, last seen, the newest as sample, biggest first', async () => {
    await failed({ errorType: 'TypeError', error: 'old type error', failedAgo: 600 });
    await failed({ errorType: 'TypeError', error: 'x is not a function', failedAgo: 30 });
    const newest = await failed({
      errorType: 'TypeError',
      error: 'newest <b>type</b> error',
      failedAgo: 300,
    });
    await failed({ errorType: 'RangeError', error: 'out of range', queue: 'other', failedAgo: 10 });
    const untyped = await failed({ errorType: null, error: 'no type' });
    await failed({ errorType: 'LongError', error: 'y'.repeat(2000) });
    await client.createTask('test.noop');
    const reasons = await client.failureReasons();
    expect(reasons.map((r) => [r.errorType, r.count])).toEqual([
      ['TypeError', 3],
      ['LongError', 1],
      ['RangeError', 1],
      [null, 1],
    ]);
    const [typeErrors] = reasons;
    expect(typeErrors).toMatchObject({ sampleTaskId: newest, sampleError: 'newest <b>type</b> error' });
    expect(Math.abs(typeErrors!.lastSeenAt!.getTime() - (Date.now() - 30_000))).toBeLessThan(5_000);
    expect(reasons[1]!.sampleError).toBe('y'.repeat(500));
    expect(reasons[3]).toMatchObject({ errorType: null, sampleTaskId: untyped, sampleError: 'no type' });

    expect(await client.failureReasons({ limit: 1 })).toHaveLength(1);
    expect((await client.failureReasons({ queue: 'other' })).map((r) => r.errorType)).toEqual(['RangeError']);
    expect(
      (await client.failureReasons({ from: new Date(Date.now() - 120_000) })).map((r) => [
        r.errorType,
        r.count,
      ]),
    ).toEqual([
      ['LongError', 1],
      ['RangeError', 1],
      ['TypeError', 1],
      [null, 1],
    ]);
    expect(await client.failureReasons({ errorType: 'NoSuchError' })).toEqual([]);
  });
});

describe('a running worker', () => {
  it('runs the redriven tasks to completion', async () => {
    const ids = [await failed({ queue: 'redrive-run' }), await failed({ queue: 'redrive-run' })];
    const worker = await runWorker({
      tasks: 'test/fixtures/tasks.ts',
      database: t.db,
      schema: t.schema,
      queues: ['redrive-run'],
      isolation: 'none',
      notifier,
      logger: silentLogger,
    });
    try {
      expect(await client.redriveFailed({ queue: 'redrive-run' })).toMatchObject({ redriven: 2 });
      await waitFor(
        async () => {
          const now = await statuses();
          return ids.every((id) => now[id] === 'COMPLETED');
        },
        { what: 'the redriven tasks to complete' },
      );
      const { rows } = await t.db.query(`select attempt from ${t.schema}.tasks where id = any($1)`, [ids]);
      // The run after the redrive is a new attempt: an old run's write-back cannot land on it.
      expect(rows.map((row) => row.attempt)).toEqual([3, 3]);
    } finally {
      await worker.stop({ grace: 1 });
    }
  });
});

/** Collects every event on the wake-up channels of the queues used here. */
async function listenAll(): Promise<{
  events: TaskEvent[];
  byChannel: Map<string, TaskEvent[]>;
  stop: () => Promise<void>;
}> {
  const events: TaskEvent[] = [];
  const byChannel = new Map<string, TaskEvent[]>();
  const channels = ['default', 'even', 'odd'].map((queue) => queueChannel(t.schema, queue));
  channels.push(anyQueueChannel(t.schema));
  const stops = await Promise.all(
    channels.map((channel) =>
      notifier.subscribe(channel, (message) => {
        const event = parseTaskEvent(message);
        if (!event) return;
        events.push(event);
        byChannel.set(channel, [...(byChannel.get(channel) ?? []), event]);
      }),
    ),
  );
  return { events, byChannel, stop: async () => void (await Promise.all(stops.map((stop) => stop()))) };
}

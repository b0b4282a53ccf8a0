/**
 * Dead letters and uniqueKeys: a redrive never makes a second unfinished task with one key. A
 * task whose key an unfinished task holds is skipped and reported (also when the holder commits
 * while the batch runs), and of two failed tasks sharing a free key only the older one moves.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTaskClient, type TaskClient } from '../src/core/service/task-client.ts';
import { DatabaseError, SqlState, type Database } from '../src/core/database.ts';
import { createFailedTask, type FailedTaskOptions } from './support/failed-task.ts';
import { useTestSchema } from './support/test-schema.ts';
import { waitFor } from './support/wait-for.ts';

const t = useTestSchema('redrive_unique');

let client: TaskClient;
beforeAll(() => {
  client = createTaskClient({ database: t.db, schema: t.schema });
});
beforeEach(async () => {
  await t.db.query(`truncate ${t.schema}.tasks`);
});

function failed(options: FailedTaskOptions = {}): Promise<string> {
  return createFailedTask(client, t.db, t.schema, options);
}

async function statuses(): Promise<Record<string, string>> {
  const { rows } = await t.db.query(`select id, status from ${t.schema}.tasks`);
  return Object.fromEntries(rows.map((row) => [row.id as string, row.status as string]));
}

describe('redriveFailed and uniqueKeys', () => {
  it('skips a task whose uniqueKey an unfinished task holds, and moves one of two that share a key', async () => {
    const held = await failed({ uniqueKey: 'held' });
    const holder = await client.createTask('test.noop', { uniqueKey: 'held' });
    const first = await failed({ uniqueKey: 'shared' });
    const second = await failed({ uniqueKey: 'shared' });
    const free = await failed({ uniqueKey: 'free' });
    const result = await client.redriveFailed();
    expect(result).toEqual({
      matched: 4,
      redriven: 2,
      skipped: 2,
      taskIds: [first, free].sort(),
      skippedTaskIds: [held, second].sort(),
      dryRun: false,
    });
    const now = await statuses();
    expect([now[held], now[holder.id], now[first], now[second], now[free]]).toEqual([
      'FAILED',
      'PENDING',
      'PENDING',
      'FAILED',
      'PENDING',
    ]);
    // While the holders are unfinished, a second redrive skips them again.
    expect(await client.redriveFailed()).toMatchObject({ matched: 2, redriven: 0, skipped: 2 });
  });

  it('runs a batch again when a uniqueKey holder committed meanwhile; gives up after three', async () => {
    const id = await failed({ uniqueKey: 'raced' });
    let violations = 1;
    const racing: Database = {
      query(text, params, options) {
        if (text.includes('for update skip locked') && violations-- > 0) {
          return Promise.reject(new DatabaseError('duplicate key', { code: SqlState.uniqueViolation }));
        }
        return t.db.query(text, params, options);
      },
      transaction: (queries) => t.db.transaction(queries),
      close: () => Promise.resolve(),
    };
    const raced = createTaskClient({ database: racing, schema: t.schema });
    expect(await raced.redriveFailed()).toMatchObject({ redriven: 1, taskIds: [id] });
    await t.db.query(`update ${t.schema}.tasks set status = 'FAILED' where id = $1`, [id]);
    violations = 3;
    await expect(raced.redriveFailed()).rejects.toMatchObject({ code: 'UNIQUE_KEY_CONFLICT' });
    expect((await statuses())[id]).toBe('FAILED');
  });

  it('skips a task whose uniqueKey a transaction takes while the batch runs', async () => {
    const id = await failed({ uniqueKey: 'contested' });
    const other = await t.db.pool.connect();
    try {
      await other.query('begin');
      await other.query(
        `insert into ${t.schema}.tasks (id, name, unique_key) values ($1, 'test.noop', 'contested')`,
        ['z'.repeat(22)],
      );
      // The batch does not see the uncommitted holder, so it waits on its index entry.
      const redrive = client.redriveFailed();
      await waitFor(
        async () => {
          const { rows } = await t.db.query(
            `select count(*)::int as n from pg_stat_activity
             where wait_event_type = 'Lock' and query like '%skip locked%' and position($1 in query) > 0`,
            [t.schema],
          );
          return rows[0]!.n === 1;
        },
        { what: 'the batch to wait on the holder' },
      );
      await other.query('commit');
      expect(await redrive).toMatchObject({ redriven: 0, skipped: 1, skippedTaskIds: [id] });
    } finally {
      other.release();
    }
  });
});

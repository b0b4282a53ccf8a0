/**
 * A client with the Postgres LISTEN/NOTIFY notifier sends the wake-ups of new tasks inside its
 * insert statement: one round trip per createTask, delivered with the commit, none for a
 * uniqueKey hit, none when the insert fails. Real Postgres, real LISTEN connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskClient, type TaskClient } from '../src/core/service/task-client.ts';
import { DatabaseError, type Database } from '../src/core/database.ts';
import { createPostgresNotifier } from '../src/adapters/node/postgres-notifier.ts';
import { anyQueueChannel, parseTaskEvent, queueChannel } from '../src/core/events/task-events.ts';
import type { Notifier } from '../src/core/notifier.ts';
import { inbox } from './support/inbox.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('pgwake');
let notifier: Notifier;
let statements: string[];
let client: TaskClient;

/** The test schema's database, recording every statement sent through it. */
function recording(db: Database): Database {
  return {
    ...db,
    query: (text, params, options) => {
      statements.push(text);
      return db.query(text, params, options);
    },
  };
}

beforeAll(() => {
  // The notifier publishes through the same recorded database: every round trip is counted.
  const database = recording(t.db);
  notifier = createPostgresNotifier({ connectionString: t.databaseUrl, database, onError: () => undefined });
  client = createTaskClient({ database, schema: t.schema, notifier });
});
afterAll(async () => {
  await notifier.close();
});

async function listen(channel: string) {
  const box = inbox();
  await notifier.subscribe(channel, box.onMessage);
  return box;
}

describe('client with the Postgres notifier', () => {
  it('createTask is one statement, and its task_created reaches the queue and the all-queues channels', async () => {
    const onQueue = await listen(queueChannel(t.schema, 'pg wake/é'));
    const onAny = await listen(anyQueueChannel(t.schema));
    statements = [];
    const task = await client.createTask('test.noop', { queue: 'pg wake/é' });
    expect(statements).toHaveLength(1);
    for (const box of [onQueue, onAny]) {
      const [message] = await box.until(1);
      expect(parseTaskEvent(message!)).toMatchObject({
        event: 'task_created',
        taskId: task.id,
        queue: 'pg wake/é',
        status: 'PENDING',
        name: 'test.noop',
      });
    }
  });

  it('createTasks sends one wake-up per queue inside its insert', async () => {
    const onA = await listen(queueChannel(t.schema, 'bulk-a'));
    const onB = await listen(queueChannel(t.schema, 'bulk-b'));
    statements = [];
    const tasks = await client.createTasks([
      { name: 'test.noop', queue: 'bulk-a' },
      { name: 'test.noop', queue: 'bulk-b' },
      { name: 'test.noop', queue: 'bulk-a' },
    ]);
    expect(statements).toHaveLength(1);
    expect((await onA.until(1)).map((m) => parseTaskEvent(m)?.taskId)).toEqual([tasks[0]!.id]);
    expect((await onB.until(1)).map((m) => parseTaskEvent(m)?.taskId)).toEqual([tasks[1]!.id]);
    // Coalesced: nothing more arrives on bulk-a for the third task.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(onA.messages).toHaveLength(1);
  });

  it('a uniqueKey hit announces nothing: the task it returns was announced when it was created', async () => {
    const box = await listen(queueChannel(t.schema, 'unique'));
    const first = await client.createTask('test.noop', { queue: 'unique', uniqueKey: 'pg-wake-once' });
    await box.until(1);
    const again = await client.createTask('test.noop', { queue: 'unique', uniqueKey: 'pg-wake-once' });
    expect(again.id).toBe(first.id);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(box.messages).toHaveLength(1);
  });

  it('an insert that fails stores nothing and announces nothing', async () => {
    const box = await listen(queueChannel(t.schema, 'broken'));
    const failing = createTaskClient({ database: t.db, schema: `${t.schema}_missing`, notifier });
    await expect(failing.createTask('test.noop', { queue: 'broken' })).rejects.toBeInstanceOf(DatabaseError);
    const control = await client.createTask('test.noop', { queue: 'broken' });
    // The control task's wake-up arrives; the failed insert's never did.
    const [message] = await box.until(1);
    expect(parseTaskEvent(message!)?.taskId).toBe(control.id);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(box.messages).toHaveLength(1);
  });
});

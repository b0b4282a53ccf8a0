/**
 * Enqueue from SQL (migration 0008): `<schema>.create_task` refuses what the client refuses,
 * with the same codes (SQLSTATE TW400, the code in DETAIL, the option in COLUMN) and messages;
 * makes ids the client's way; and sends the wake-up the client would send, on the Postgres
 * channels the LISTEN notifier listens on, when the caller's transaction commits and never
 * when it rolls back. Real Postgres, real LISTEN connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresNotifier, postgresChannelName } from '../src/adapters/node/postgres-notifier.ts';
import { DatabaseError } from '../src/core/database.ts';
import { TaskValidationError } from '../src/core/errors.ts';
import {
  anyQueueChannel,
  createTaskEvent,
  parseTaskEvent,
  queueChannel,
} from '../src/core/events/task-events.ts';
import type { Notifier } from '../src/core/notifier.ts';
import { taskValidationErrorFromDatabase } from '../src/core/service/create-task-in-transaction.ts';
import { assertTaskId, newTaskId, taskIdFloor } from '../src/core/task-id.ts';
import { validateTask, type TaskOptions } from '../src/core/validate-task.ts';
import { inbox } from './support/inbox.ts';
import { useTestSchema } from './support/test-schema.ts';
import { acceptedUniqueModes, refusedUniqueModes, type ParityCase } from './support/unique-mode-parity.ts';

const t = useTestSchema('sqltask');
const fn = (name: string) => `"${t.schema}".${name}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `create_task`'s arguments for a client call: args and kwargs its own, the rest options. */
function sqlArgs(name: string, options: unknown, maxPayloadBytes?: number): unknown[] {
  const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value));
  const plain = typeof options === 'object' && options !== null && !Array.isArray(options);
  const { args, kwargs, ...rest } = plain ? (options as Record<string, unknown>) : {};
  const params = [name, json(args), json(kwargs), plain ? JSON.stringify(rest) : json(options)];
  return maxPayloadBytes === undefined ? params : [...params, maxPayloadBytes];
}

function createTaskSql(params: readonly unknown[]): string {
  const max = params.length > 4 ? ', $5' : '';
  return `select ${fn('create_task')}($1, $2::jsonb, $3::jsonb, $4::jsonb${max}) as task`;
}

/** A task stored by `create_task` over the test schema's driver. */
async function createInSql(
  name: string,
  options: unknown = {},
  max?: number,
): Promise<Record<string, unknown>> {
  const params = sqlArgs(name, options, max);
  const { rows } = await t.db.query(createTaskSql(params), params);
  return rows[0]!.task as Record<string, unknown>;
}

/** `depth` arrays, each inside the next. */
const nested = (depth: number): unknown[] => (depth <= 1 ? [] : [nested(depth - 1)]);

// A payload whose compact JSON differs from jsonb's text (spaces after `,` and `:`, quotes,
// escapes, a multi-byte character), and its exact size as the client counts it.
const payload = { args: ['a, b: "c"', 1.5, { x: [true, null] }], kwargs: { 'k e y': 'v\né' } };
const payloadBytes =
  Buffer.byteLength(JSON.stringify(payload.args)) + Buffer.byteLength(JSON.stringify(payload.kwargs));

const refused: ParityCase[] = [
  { label: 'empty name', name: '', options: {} },
  { label: 'over-long name', name: 'n'.repeat(201), options: {} },
  { label: 'name with a space', name: 'drop table', options: {} },
  { label: 'name starting with a symbol', name: '.hidden', options: {} },
  { label: 'name with a non-ASCII letter', name: 'tâche', options: {} },
  { label: 'options that are an array', name: 'ok', options: [1] },
  { label: 'options that are a string', name: 'ok', options: 'x' },
  { label: 'unknown option (the known ones listed alike)', name: 'ok', options: { maxRetry: 3 } },
  { label: 'args as an object', name: 'ok', options: { args: { a: 1 } } },
  { label: 'args as a string', name: 'ok', options: { args: '1,2' } },
  { label: 'kwargs as an array', name: 'ok', options: { kwargs: [1] } },
  { label: 'kwargs as a number', name: 'ok', options: { kwargs: 5 } },
  // The client names the path of the deep value; SQL names the argument.
  { label: 'args nested 65 deep', name: 'ok', options: { args: nested(65) }, ownMessage: true },
  { label: 'kwargs nested 65 deep', name: 'ok', options: { kwargs: { a: nested(64) } }, ownMessage: true },
  { label: 'payload one byte over the limit', name: 'ok', options: payload, max: payloadBytes - 1 },
  { label: 'zero timeout', name: 'ok', options: { timeout: 0 } },
  { label: 'fractional timeout', name: 'ok', options: { timeout: 1.5 } },
  { label: 'timeout over the maximum', name: 'ok', options: { timeout: 604_801 } },
  { label: 'timeout as a string', name: 'ok', options: { timeout: '30' } },
  { label: 'timeout as a boolean', name: 'ok', options: { timeout: true } },
  { label: 'empty queue', name: 'ok', options: { queue: '' } },
  { label: 'queue of 102 UTF-16 units (51 emoji)', name: 'ok', options: { queue: '😀'.repeat(51) } },
  { label: 'queue as a number', name: 'ok', options: { queue: 7 } },
  { label: 'queue null', name: 'ok', options: { queue: null } },
  { label: 'fractional priority', name: 'ok', options: { priority: 0.5 } },
  { label: 'priority -2^31', name: 'ok', options: { priority: -2_147_483_648 } },
  { label: 'priority as a string', name: 'ok', options: { priority: '1' } },
  { label: 'runAt that is a word', name: 'ok', options: { runAt: 'tomorrow' } },
  { label: 'runAt "infinity"', name: 'ok', options: { runAt: 'infinity' } },
  { label: 'runAt with a five-digit year', name: 'ok', options: { runAt: '10000-01-01T00:00:00Z' } },
  { label: 'runAt as a number', name: 'ok', options: { runAt: 5 } },
  // Postgres has no year 0 (the client reads it as 1 BC, then finds it out of range).
  { label: 'runAt in year 0', name: 'ok', options: { runAt: '0000-06-01T00:00:00Z' }, ownMessage: true },
  { label: 'runAt and delay together', name: 'ok', options: { runAt: '2030-01-01T00:00:00Z', delay: 1 } },
  { label: 'negative delay', name: 'ok', options: { delay: -1 } },
  { label: 'delay over a year', name: 'ok', options: { delay: 31_536_001 } },
  { label: 'delay null', name: 'ok', options: { delay: null } },
  { label: 'delay as a string', name: 'ok', options: { delay: '5' } },
  { label: 'delay as a boolean', name: 'ok', options: { delay: true } },
  { label: 'maxRetries over 1000', name: 'ok', options: { maxRetries: 1001 } },
  { label: 'maxRetries null', name: 'ok', options: { maxRetries: null } },
  { label: 'maxRetries as an object', name: 'ok', options: { maxRetries: { n: 1 } } },
  { label: 'empty uniqueKey', name: 'ok', options: { uniqueKey: '' } },
  { label: 'over-long uniqueKey', name: 'ok', options: { uniqueKey: 'k'.repeat(201) } },
  ...refusedUniqueModes,
  { label: 'empty concurrencyKey', name: 'ok', options: { concurrencyKey: '' } },
  { label: 'concurrencyKey null', name: 'ok', options: { concurrencyKey: null } },
  { label: 'concurrencyKeyLimit 0', name: 'ok', options: { concurrencyKey: 'u:1', concurrencyKeyLimit: 0 } },
  { label: 'concurrencyKeyLimit without a key', name: 'ok', options: { concurrencyKeyLimit: 2 } },
  { label: 'bad name and bad options: the name first', name: 'a b', options: { queue: '' } },
  { label: 'bad queue and priority: the queue first', name: 'ok', options: { priority: 0.5, queue: '' } },
  {
    label: 'bad uniqueKey and maxRetries: maxRetries first',
    name: 'ok',
    options: { uniqueKey: '', maxRetries: -1 },
  },
];

const accepted: ParityCase[] = [
  { label: '200-character name', name: 'n'.repeat(200), options: {} },
  { label: 'name with every allowed symbol', name: 'a_b.c:d-e/f', options: {} },
  { label: 'queue of 100 UTF-16 units (50 emoji)', name: 'ok', options: { queue: '😀'.repeat(50) } },
  { label: 'args nested 64 deep', name: 'ok', options: { args: nested(64), kwargs: { a: nested(63) } } },
  { label: 'payload exactly at the limit', name: 'ok', options: payload, max: payloadBytes },
  { label: 'timeout null (none)', name: 'ok', options: { timeout: null } },
  { label: 'priority -(2^31 - 1)', name: 'ok', options: { priority: -2_147_483_647, maxRetries: 0 } },
  { label: 'delay with a fraction', name: 'ok', options: { delay: 0.25 } },
  { label: 'runAt at the end of year 9999', name: 'ok', options: { runAt: '9999-12-31T23:59:59.999Z' } },
  { label: 'args and kwargs null (the defaults)', name: 'ok', options: { args: null, kwargs: null } },
  ...acceptedUniqueModes,
  { label: 'concurrencyKey with the default limit', name: 'ok', options: { concurrencyKey: 'user:42' } },
  {
    label: 'concurrencyKey with a limit',
    name: 'ok',
    options: { concurrencyKey: 'u', concurrencyKeyLimit: 5 },
  },
];

function clientError(name: string, options: unknown, max?: number): TaskValidationError {
  try {
    validateTask(name, options as TaskOptions, max);
  } catch (error) {
    if (error instanceof TaskValidationError) return error;
    throw error;
  }
  throw new Error('validateTask accepted it');
}

describe('create_task refuses what the client refuses, with the same code and field', () => {
  it.each(refused)('$label', async ({ name, options, max, ownMessage }) => {
    const expected = clientError(name, options, max);
    const params = sqlArgs(name, options, max);
    const error = await t.db.query(createTaskSql(params), params).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).toMatchObject({ code: 'TW400', detail: expected.code, column: expected.field });
    const typed = taskValidationErrorFromDatabase(error);
    expect(typed).toBeInstanceOf(TaskValidationError);
    expect(typed).toMatchObject({ code: expected.code, field: expected.field });
    if (!ownMessage) expect(typed?.message).toBe(expected.message);
  });

  it.each(accepted)('accepts $label, storing what the client would', async ({ name, options, max }) => {
    const expected = validateTask(name, options as TaskOptions, max);
    const task = await createInSql(name, options, max);
    const byMode = expected.uniqueMode !== null && expected.uniqueMode !== 'unfinished';
    expect(task).toMatchObject({
      name: expected.name,
      args: JSON.parse(expected.argsJson) as unknown,
      kwargs: JSON.parse(expected.kwargsJson) as unknown,
      queue: expected.queue,
      priority: expected.priority,
      timeout: expected.timeout,
      max_retries: expected.maxRetries,
      // The modes of migration 0009 keep their key in dedup_key.
      unique_key: byMode ? null : expected.uniqueKey,
      dedup_key: byMode ? expected.uniqueKey : null,
      unique_mode: byMode ? expected.uniqueMode : null,
      concurrency_key: expected.concurrencyKey,
      concurrency_key_limit: expected.concurrencyKeyLimit,
      status: 'PENDING',
      created: true,
    });
    if (expected.runAt) expect(new Date(task.run_at as string).toISOString()).toBe(expected.runAt);
  });

  it('leaves other errors alone', async () => {
    const error = await t.db.query('select 1/0').catch((e: unknown) => e);
    expect(taskValidationErrorFromDatabase(error)).toBeUndefined();
  });

  it('cannot be handed a NUL or a lone surrogate: Postgres refuses them as it reads the arguments', async () => {
    expect(clientError('ok', { args: ['a\u0000b'] }).code).toBe('NOT_JSON');
    await expect(createInSql('ok', { args: ['a\u0000b'] })).rejects.toMatchObject({ code: '22P05' });
    await expect(createInSql('ok', { args: ['\ud800'] })).rejects.toMatchObject({ code: '22P02' });
  });
});

describe('create_task stores tasks like the client', () => {
  it("uses the client's defaults and returns the row as jsonb with created", async () => {
    const task = await createInSql('app.defaults');
    expect(task).toMatchObject({
      name: 'app.defaults',
      args: [],
      kwargs: {},
      queue: 'default',
      priority: 0,
      timeout: 300,
      max_retries: null,
      unique_key: null,
      status: 'PENDING',
      attempt: 0,
      created: true,
    });
    expect(task.run_at).toBe(task.created_at);
    const delayed = await createInSql('app.delayed', { delay: 90 });
    const runAt = Date.parse(delayed.run_at as string) - Date.parse(delayed.created_at as string);
    expect(runAt).toBe(90_000);
  });

  it('returns the unfinished task that holds the uniqueKey, and creates anew once it finished', async () => {
    const first = await createInSql('app.unique', { uniqueKey: 'sql-once' });
    const again = await createInSql('app.unique', { uniqueKey: 'sql-once', args: [2] });
    expect(again).toMatchObject({ id: first.id, args: [], created: false });
    await t.db.query(`update ${fn('tasks')} set status = 'COMPLETED' where id = $1`, [first.id]);
    const next = await createInSql('app.unique', { uniqueKey: 'sql-once' });
    expect(next).toMatchObject({ created: true });
    expect(next.id).not.toBe(first.id);
  });
});

describe('ids', () => {
  it('are task ids, sort after earlier ids and keep a transaction in order', async () => {
    const before = newTaskId();
    await sleep(2);
    const results = await t.db.transaction(
      Array.from({ length: 20 }, () => ({ text: `select ${fn('new_task_id')}() as id` })),
    );
    const ids = results.map((result) => result.rows[0]!.id as string);
    for (const id of ids) expect(assertTaskId(id)).toBe(id);
    // JavaScript compares code units, which for this alphabet is the C collation's order.
    expect([before, ...ids]).toEqual([before, ...ids].sort());
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('take the time prefix of the client, count up within a millisecond and roll over to the next', async () => {
    const last = (id: string) => ({
      text: `select set_config('edge_task_worker.last_task_id', $1, false)`,
      params: [id],
    });
    const at = (ms: number) => ({ text: `select ${fn('new_task_id')}($1) as id`, params: [ms] });
    const [, a, b, , rolled] = await t.db.transaction([
      last(''),
      at(1_000),
      at(1_000),
      last(taskIdFloor(5_000).slice(0, 8) + 'z'.repeat(14)),
      at(5_000),
    ]);
    const [first, second, third] = [a, b, rolled].map((r) => r!.rows[0]!.id as string);
    expect(first!.slice(0, 8)).toBe(taskIdFloor(1_000).slice(0, 8));
    expect(second!.slice(0, 8)).toBe(first!.slice(0, 8));
    expect(second! > first!).toBe(true);
    expect(third!.slice(0, 8)).toBe(taskIdFloor(5_001).slice(0, 8));
  });
});

describe('channels', () => {
  const channels = [
    'short',
    'x'.repeat(63),
    'x'.repeat(64),
    `${'a'.repeat(39)}é${'b'.repeat(30)}`,
    'é'.repeat(40),
    `a${'😀'.repeat(20)}`,
  ];
  it.each(channels)('postgres_channel_name(%s) is postgresChannelName', async (channel) => {
    const { rows } = await t.db.query(`select ${fn('postgres_channel_name')}($1) as name`, [channel]);
    expect(rows[0]!.name).toBe(postgresChannelName(channel));
  });

  const queues = [
    'default',
    'a.b-c_d',
    'with space',
    'é',
    '😀',
    '~'.repeat(100),
    'é'.repeat(100),
    'x'.repeat(100),
  ];
  it.each(queues)('queue_channel(%s) is queueChannel', async (queue) => {
    const { rows } = await t.db.query(`select ${fn('queue_channel')}($1) as channel`, [queue]);
    expect(rows[0]!.channel).toBe(queueChannel(t.schema, queue));
  });
});

describe('wake-ups', () => {
  let notifier: Notifier;
  beforeAll(() => {
    notifier = createPostgresNotifier({ connectionString: t.databaseUrl, onError: () => undefined });
  });
  afterAll(async () => {
    await notifier.close();
  });
  async function listen(channel: string) {
    const box = inbox();
    await notifier.subscribe(channel, box.onMessage);
    return box;
  }

  it.each(['sql wake/é', 'é'.repeat(100)])(
    "a committed create_task sends the client's task_created on queue %s and on all queues",
    async (queue) => {
      const onQueue = await listen(queueChannel(t.schema, queue));
      const onAny = await listen(anyQueueChannel(t.schema));
      const params = sqlArgs('app.wake', { queue });
      const [result] = await t.db.transaction([{ text: createTaskSql(params), params }]);
      const task = result!.rows[0]!.task as { id: string };
      for (const box of [onQueue, onAny]) {
        const message = (await box.until(1)).find((m) => parseTaskEvent(m)?.taskId === task.id);
        const event = parseTaskEvent(message!)!;
        const expected = createTaskEvent('task_created', {
          id: task.id,
          queue,
          name: 'app.wake',
          attempt: 0,
        });
        // Byte for byte what the client sends, but for the time.
        expect(message).toBe(JSON.stringify({ ...expected, at: event.at }));
        expect(Math.abs(Date.parse(event.at) - Date.now())).toBeLessThan(10_000);
      }
    },
  );

  it('a rolled-back transaction stores nothing and wakes nobody', async () => {
    const box = await listen(queueChannel(t.schema, 'rolled-back'));
    const params = sqlArgs('app.wake', { queue: 'rolled-back' });
    await expect(
      t.db.transaction([{ text: createTaskSql(params), params }, { text: 'select 1/0' }]),
    ).rejects.toMatchObject({ code: '22012' });
    const { rows } = await t.db.query(`select count(*)::int as n from ${fn('tasks')} where queue = $1`, [
      'rolled-back',
    ]);
    expect(rows[0]!.n).toBe(0);
    // A control task's wake-up arrives; the rolled-back one's never did.
    const control = await createInSql('app.wake', { queue: 'rolled-back' });
    await box.until(1);
    await sleep(200);
    expect(box.messages.map((m) => parseTaskEvent(m)?.taskId)).toEqual([control.id]);
  });

  it('a uniqueKey hit wakes nobody', async () => {
    const box = await listen(queueChannel(t.schema, 'unique-wake'));
    const first = await createInSql('app.wake', { queue: 'unique-wake', uniqueKey: 'wake-once' });
    await box.until(1);
    const again = await createInSql('app.wake', { queue: 'unique-wake', uniqueKey: 'wake-once' });
    expect(again).toMatchObject({ id: first.id, created: false });
    await sleep(200);
    expect(box.messages).toHaveLength(1);
  });
});

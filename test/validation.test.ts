/**
 * Bad input gets a typed error naming the problem, and nothing is written.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createTaskClient, type TaskClient } from '../src/core/service/task-client.ts';
import { TaskValidationError } from '../src/core/errors.ts';
import { TASK_LIMITS } from '../src/core/validate-task.ts';
import { countingDatabase } from './support/drivers.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('validation');

const cyclic: Record<string, unknown> = { a: 1 };
cyclic.self = cyclic;
const cyclicArray: unknown[] = [1];
cyclicArray.push(cyclicArray);

type Case = [label: string, name: unknown, options: unknown, code: string, message: RegExp];

const cases: Case[] = [
  ['empty name', '', {}, 'INVALID_NAME', /name must not be empty/],
  ['over-long name', 'x'.repeat(201), {}, 'INVALID_NAME', /201 characters long; the limit is 200/],
  ['name that is not a string', 42, {}, 'INVALID_NAME', /name must be a string, got number/],
  ['name with spaces', 'drop table', {}, 'INVALID_NAME', /may only contain/],
  [
    'args not an array',
    'ok',
    { args: { a: 1 } },
    'INVALID_ARGS',
    /args must be an array, got a Object object/,
  ],
  ['args as a string', 'ok', { args: '1,2' }, 'INVALID_ARGS', /args must be an array, got string/],
  [
    'kwargs as an array',
    'ok',
    { kwargs: [1] },
    'INVALID_KWARGS',
    /kwargs must be a plain object, got an array/,
  ],
  ['kwargs as a Map', 'ok', { kwargs: new Map() }, 'INVALID_KWARGS', /got a Map object/],
  ['BigInt', 'ok', { args: [1, 2n] }, 'NOT_JSON', /args\[1\] is a BigInt/],
  ['function', 'ok', { kwargs: { cb: () => 1 } }, 'NOT_JSON', /kwargs\.cb is a function/],
  ['symbol', 'ok', { args: [Symbol('s')] }, 'NOT_JSON', /args\[0\] is a symbol/],
  ['undefined in an array', 'ok', { args: [1, undefined] }, 'NOT_JSON', /args\[1\] is undefined/],
  ['NaN', 'ok', { args: [Number.NaN] }, 'NOT_JSON', /args\[0\] is NaN/],
  ['Infinity', 'ok', { kwargs: { x: [Infinity] } }, 'NOT_JSON', /kwargs\.x\[0\] is Infinity/],
  ['a cycle', 'ok', { kwargs: { c: cyclic } }, 'NOT_JSON', /kwargs\.c\.self is a circular reference/],
  ['an array cycle', 'ok', { args: cyclicArray }, 'NOT_JSON', /args\[1\] is a circular reference/],
  ['a Set inside args', 'ok', { args: [new Set([1])] }, 'NOT_JSON', /args\[0\] is a Set instance/],
  ['a NUL character', 'ok', { args: ['a\u0000b'] }, 'NOT_JSON', /NUL character/],
  ['a lone surrogate', 'ok', { args: ['\ud800'] }, 'NOT_JSON', /lone surrogate/],
  [
    'payload over the limit',
    'ok',
    { args: ['x'.repeat(TASK_LIMITS.maxPayloadBytes)] },
    'PAYLOAD_TOO_LARGE',
    /the limit is 1048576/,
  ],
  [
    'zero timeout',
    'ok',
    { timeout: 0 },
    'INVALID_TIMEOUT',
    /timeout must be an integer from 1 to 604800, got 0/,
  ],
  ['negative timeout', 'ok', { timeout: -5 }, 'INVALID_TIMEOUT', /got -5/],
  ['fractional timeout', 'ok', { timeout: 1.5 }, 'INVALID_TIMEOUT', /got 1.5/],
  ['timeout over the maximum', 'ok', { timeout: 604_801 }, 'INVALID_TIMEOUT', /got 604801/],
  ['timeout as a string', 'ok', { timeout: '30' }, 'INVALID_TIMEOUT', /got 30/],
  // Found by the HTTP fuzz test: String() of this value throws, which answered 500.
  ['timeout that cannot be printed', 'ok', { timeout: [{ toString: 1 }] }, 'INVALID_TIMEOUT', /got an array/],
  [
    'runAt that cannot be printed',
    'ok',
    { runAt: { valueOf: 1, toString: 1 } },
    'INVALID_RUN_AT',
    /got an object/,
  ],
  [
    'invalid runAt string',
    'ok',
    { runAt: 'tomorrow' },
    'INVALID_RUN_AT',
    /valid Date or ISO 8601 string, got tomorrow/,
  ],
  ['invalid Date', 'ok', { runAt: new Date('nope') }, 'INVALID_RUN_AT', /got Invalid Date/],
  ['runAt as a number', 'ok', { runAt: 5 }, 'INVALID_RUN_AT', /got 5/],
  [
    'runAt and delay together',
    'ok',
    { runAt: new Date(), delay: 1 },
    'INVALID_OPTIONS',
    /runAt or delay, not both/,
  ],
  ['negative delay', 'ok', { delay: -1 }, 'INVALID_DELAY', /got -1/],
  ['empty queue', 'ok', { queue: '' }, 'INVALID_QUEUE', /queue must not be empty/],
  ['fractional priority', 'ok', { priority: 0.5 }, 'INVALID_PRIORITY', /got 0.5/],
  ['negative maxRetries', 'ok', { maxRetries: -1 }, 'INVALID_MAX_RETRIES', /got -1/],
  ['empty uniqueKey', 'ok', { uniqueKey: '' }, 'INVALID_UNIQUE_KEY', /uniqueKey must not be empty/],
  ['unknown option', 'ok', { maxRetry: 3 }, 'INVALID_OPTIONS', /Unknown task option "maxRetry"/],
];

describe('createTask refuses bad input before writing', () => {
  let client: TaskClient;
  let counting: ReturnType<typeof countingDatabase>;
  beforeAll(() => {
    counting = countingDatabase(t.db);
    client = createTaskClient({ database: counting, schema: t.schema });
  });

  it.each(cases)('%s', async (_label, name, options, code, message) => {
    counting.statements.length = 0;
    const error = await client.createTask(name as string, options as never).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TaskValidationError);
    expect(error).toMatchObject({ code });
    expect((error as Error).message).toMatch(message);
    // Nothing was even sent to the database.
    expect(counting.statements).toEqual([]);
  });

  it('createTasks rejects the whole batch when one entry is bad, naming its index', async () => {
    const error = await client
      .createTasks([{ name: 'ok' }, { name: 'ok', args: [1n] } as never, { name: 'ok' }])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NOT_JSON', field: 'tasks[1].args' });
    expect((error as Error).message).toMatch(/^tasks\[1\]: args\[0\] is a BigInt/);
  });

  it('accepts the edges of every limit', async () => {
    const task = await client.createTask('n'.repeat(200), {
      args: ['x'.repeat(TASK_LIMITS.maxPayloadBytes - 100)],
      timeout: TASK_LIMITS.maxTimeout,
      priority: -5,
      maxRetries: 0,
      delay: 0,
      kwargs: { skipped: undefined, when: new Date('2026-01-01T00:00:00Z') },
    });
    expect(task.kwargs).toEqual({ when: '2026-01-01T00:00:00.000Z' });
    expect(task.name).toHaveLength(200);
  });

  it('leaves the table without a single half-written row', async () => {
    const { rows } = await t.db.query(`select name from ${t.schema}.tasks`);
    expect(rows).toEqual([{ name: 'n'.repeat(200) }]);
  });

  it('the database refuses what the client would refuse, too', async () => {
    // A client bypassing validation still cannot store an invalid status or timeout.
    await expect(
      t.db.query(
        `insert into ${t.schema}.tasks (id, name, status) values ('aaaaaaaaaaaaaaaaaaaaaa', 'x', 'DONE')`,
      ),
    ).rejects.toMatchObject({ code: '23514', constraint: 'tasks_status_check' });
    await expect(
      t.db.query(
        `insert into ${t.schema}.tasks (id, name, timeout) values ('aaaaaaaaaaaaaaaaaaaaab', 'x', 0)`,
      ),
    ).rejects.toMatchObject({ code: '23514', constraint: 'tasks_timeout_check' });
    await expect(
      t.db.query(
        `insert into ${t.schema}.tasks (id, name, retry_count) values ('aaaaaaaaaaaaaaaaaaaaac', 'x', -1)`,
      ),
    ).rejects.toMatchObject({ code: '23514' });
  });
});

describe('validation of what JSON.parse accepts but Postgres would not', () => {
  it.each([
    ['a key with NUL', { kwargs: { 'a\u0000b': 1 } }, 'NOT_JSON', /key with a NUL/],
    [
      'nesting deeper than 64',
      { args: [JSON.parse('['.repeat(70) + ']'.repeat(70))] },
      'NOT_JSON',
      /nested deeper than 64/,
    ],
    ['runAt before year 1', { runAt: '0000-01-01T00:00:00Z' }, 'INVALID_RUN_AT', /between years 1 and 9999/],
    ['runAt after year 9999', { runAt: new Date(8.6e15) }, 'INVALID_RUN_AT', /between years 1 and 9999/],
    ['a queue with NUL', { queue: 'a\u0000' }, 'INVALID_QUEUE', /NUL/],
  ])('%s', async (_label, options, code, message) => {
    const client = createTaskClient({ database: t.db, schema: t.schema });
    const error = await client.createTask('ok', options as never).catch((e: unknown) => e);
    expect(error).toMatchObject({ code });
    expect((error as Error).message).toMatch(message);
  });

  it('createTasks refuses an entry that is not an object', async () => {
    const client = createTaskClient({ database: t.db, schema: t.schema });
    await expect(client.createTasks([null as never])).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      field: 'tasks[0].options',
    });
  });
});

describe('objects from another realm', () => {
  it('are plain objects too (request.json() in edge sandboxes)', async () => {
    const { runInNewContext } = await import('node:vm');
    const foreign = runInNewContext('({ a: 1, nested: { b: [2] } })') as Record<string, unknown>;
    expect(Object.getPrototypeOf(foreign)).not.toBe(Object.prototype);
    const client = createTaskClient({ database: t.db, schema: t.schema });
    const task = await client.createTask('realm.check', { kwargs: foreign, args: [foreign] });
    expect(task.kwargs).toEqual({ a: 1, nested: { b: [2] } });
    await expect(
      client.createTask('realm.check', { kwargs: runInNewContext('new Map()') as never }),
    ).rejects.toMatchObject({ code: 'INVALID_KWARGS' });
  });
});

/**
 * A handler's error text is stored in text and jsonb columns, which refuse a NUL character and
 * lone surrogates. Once, one such error made the whole batched write-back fail forever: the
 * tasks waiting in it ran again after their lease, and the bad one ended "Lease expired"
 * instead of with its own error. Error text is now cleaned (and bounded) where it is recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskClient, type TaskClient } from '../src/core/service/task-client.ts';
import {
  MAX_ERROR_MESSAGE,
  MAX_ERROR_STACK,
  MAX_ERROR_TYPE,
  serializeError,
} from '../src/core/task-error.ts';
import type { Logger, LogLevel } from '../worker/container/logger.ts';
import { runWorker, type WorkerHandle } from '../worker/container/run-worker.ts';
import { useTestSchema } from './support/test-schema.ts';

// eslint-disable-next-line no-control-regex
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe('serializeError cleans what Postgres cannot store', () => {
  it('replaces NUL and lone surrogates with U+FFFD in message, type and stack', () => {
    const error = new Error('a\u0000b\ud800c\udc00d');
    error.name = 'Bad\u0000Name';
    error.stack = 'Error: a\u0000b\n    at \ud83d x';
    const stored = serializeError(error);
    expect(stored.message).toBe('a\uFFFDb\uFFFDc\uFFFDd');
    expect(stored.type).toBe('Bad\uFFFDName');
    expect(stored.stack).toBe('Error: a\uFFFDb\n    at \uFFFD x');
  });

  it('keeps valid surrogate pairs and ordinary text as they are', () => {
    const stored = serializeError(new TypeError('emoji 😀 and ü'));
    expect(stored).toMatchObject({ message: 'emoji 😀 and ü', type: 'TypeError' });
    expect(stored.stack).toContain('emoji 😀 and ü');
  });

  it('cleans a thrown non-error value too', () => {
    expect(serializeError('x\u0000y').message).toBe('Non-error thrown: x\uFFFDy');
  });

  it('bounds message, type and stack without splitting a surrogate pair', () => {
    const error = new Error('😀'.repeat(MAX_ERROR_MESSAGE));
    error.name = 'N'.repeat(MAX_ERROR_TYPE * 2);
    error.stack = 's'.repeat(MAX_ERROR_STACK * 3);
    const stored = serializeError(error);
    expect(stored.message.length).toBeLessThanOrEqual(MAX_ERROR_MESSAGE);
    expect(stored.message).toMatch(/^(😀)+… \[\d+ more characters\]$/);
    expect(stored.message).not.toMatch(UNSTORABLE);
    expect(stored.type.length).toBeLessThanOrEqual(MAX_ERROR_TYPE);
    expect(stored.stack!.length).toBeLessThanOrEqual(MAX_ERROR_STACK);
    expect(stored.stack).toMatch(/… \[\d+ more characters\]$/);
  });

  it('never throws on an error whose fields are not strings or whose toString throws', () => {
    const weird = new Error('m');
    Object.defineProperty(weird, 'name', { value: 42 });
    Object.defineProperty(weird, 'stack', { value: { not: 'a string' } });
    expect(serializeError(weird)).toMatchObject({ message: 'm', type: '42', stack: null });
    const noString = Object.create(null) as object;
    expect(serializeError(noString)).toMatchObject({
      message: 'Non-error thrown: [object Object]',
      type: 'object',
    });
  });
});

describe('a handler throwing text Postgres cannot store, with siblings in the same batch', () => {
  const t = useTestSchema('error_text');
  let client: TaskClient;
  let worker: WorkerHandle;
  const logged: Array<{ level: LogLevel; event: string; fields: Record<string, unknown> }> = [];
  const logger: Logger = { log: (level, event, fields = {}) => logged.push({ level, event, fields }) };

  beforeAll(async () => {
    client = createTaskClient({ database: t.db, schema: t.schema });
    worker = await runWorker({
      tasks: 'test/fixtures/tasks.ts',
      database: t.db,
      schema: t.schema,
      concurrency: 4,
      pollInterval: 50,
      // Long enough that a task only comes back through the sweep well after the test gave up.
      lease: 60,
      logger,
    });
  });
  afterAll(async () => worker.stop({ grace: 1 }));

  it('fails the bad task with its cleaned error and completes the others, at once', async () => {
    const [bad, ...siblings] = await client.createTasks([
      { name: 'test.throw_nul', maxRetries: 0 },
      { name: 'test.multiply', args: [2, 3] },
      { name: 'test.multiply', args: [4, 5] },
      { name: 'test.multiply', args: [6, 7] },
    ]);
    const done = await Promise.all(
      [bad!, ...siblings].map((task) => client.waitForCompletion(task.id, { timeout: 10 })),
    );
    expect(done[0]).toMatchObject({
      status: 'FAILED',
      attempt: 1,
      error: 'bad\uFFFDtext\uFFFD',
      errorType: 'Nul\uFFFDError\uFFFD',
    });
    expect(done[0]!.errorStack).toContain('bad\uFFFDtext\uFFFD');
    expect(done[0]!.errorStack).not.toMatch(UNSTORABLE);
    expect(done[0]!.errorHistory).toEqual([
      expect.objectContaining({ attempt: 1, message: 'bad\uFFFDtext\uFFFD', type: 'Nul\uFFFDError\uFFFD' }),
    ]);
    expect(done.slice(1).map((task) => [task?.status, task?.result])).toEqual([
      ['COMPLETED', 6],
      ['COMPLETED', 20],
      ['COMPLETED', 42],
    ]);
    expect(logged.filter((line) => line.event === 'write_back_failed')).toEqual([]);
  });
});

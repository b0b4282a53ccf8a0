/**
 * What a handler receives and what is stored from it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskClient, type TaskClient } from '../src/core/service/task-client.ts';
import type { Logger, LogLevel } from '../worker/container/logger.ts';
import { runWorker, type WorkerHandle } from '../worker/container/run-worker.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('execution');
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
    concurrency: 2,
    pollInterval: 50,
    logger,
  });
});
afterAll(async () => worker.stop({ grace: 1 }));

const run = async (name: string, options: Parameters<TaskClient['createTask']>[1] = {}) =>
  client.waitForCompletion((await client.createTask(name, options)).id, { timeout: 10 });

describe('execution', () => {
  it('passes args, kwargs and context, and stores the return value as JSON', async () => {
    const done = await run('test.echo', { args: [1, 'two', { three: [3] }], kwargs: { k: 'v', n: null } });
    expect(done).toMatchObject({
      status: 'COMPLETED',
      result: { args: [1, 'two', { three: [3] }], kwargs: { k: 'v', n: null }, attempt: 1, taskId: done!.id },
      error: null,
    });
    expect(done!.duration).toBeGreaterThanOrEqual(0);
    expect(done!.finishedAt!.getTime()).toBeGreaterThanOrEqual(done!.startedAt!.getTime());
    expect(done!.leaseUntil).toBeNull();
  });

  it('stores an undefined return value as null', async () => {
    expect(await run('test.noop')).toMatchObject({ status: 'COMPLETED', result: null });
  });

  it('stores progress reported by the handler', async () => {
    expect(await run('test.progress')).toMatchObject({
      status: 'COMPLETED',
      progress: { step: 1, of: 2 },
      result: 'done',
    });
  });

  it('fails an unknown task name at once, naming it', async () => {
    const done = await run('test.not_registered', { maxRetries: 5 });
    expect(done).toMatchObject({ status: 'FAILED', attempt: 1, errorType: 'UnknownTaskError' });
    expect(done!.error).toContain('Unknown task "test.not_registered"');
    // The registered names go to the worker's log, not to a row an API caller can read.
    expect(done!.error).not.toContain('test.echo');
    const line = logged.find((l) => l.event === 'task_failed' && l.fields.taskId === done!.id);
    expect(line?.fields.registered).toEqual(expect.arrayContaining(['test.echo', 'test.noop']));
  });

  it('fails a NonRetryableError at once', async () => {
    expect(await run('test.non_retryable', { maxRetries: 5 })).toMatchObject({
      status: 'FAILED',
      attempt: 1,
      errorType: 'NonRetryableError',
      error: 'bad input, do not retry',
    });
  });

  it('fails a result that is not JSON, naming the value', async () => {
    const done = await run('test.bad_result');
    expect(done).toMatchObject({ status: 'FAILED', errorType: 'TaskValidationError' });
    expect(done!.error).toContain('result.when is a BigInt');
  });

  it('survives a handler that exits its thread, retrying the task', async () => {
    const done = await run('test.exit_thread', { maxRetries: 1 });
    expect(done).toMatchObject({ status: 'FAILED', attempt: 2, errorType: 'ThreadExitError' });
    expect(await run('test.multiply', { args: [4, 5] })).toMatchObject({ status: 'COMPLETED', result: 20 });
  });

  it('counts what it did', () => {
    expect(worker.stats()).toMatchObject({ running: 0, completed: 4, failed: 4, retried: 1, lost: 0 });
  });
});

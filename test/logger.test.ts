/**
 * Logs that fit the user's stack: a real pino logger given to `runWorker` and `createApp`
 * receives every line, each line about a task carries its id, name, attempt and trace id, and
 * the readable format escapes control characters that come from handlers.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.ts';
import { toLogger, type Logger, type LogLevel } from '../src/core/logger.ts';
import { createApp } from '../src/http/index.ts';
import { createLogger } from '../worker/container/logger.ts';
import { runWorker, type WorkerHandle } from '../worker/container/index.ts';
import { useTestSchema } from './support/test-schema.ts';
import { waitFor } from './support/wait-for.ts';

const t = useTestSchema('logger');
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

type Line = Record<string, unknown>;

/** A real pino logger writing JSON lines into `lines`. */
function pinoInto(lines: Line[]) {
  return pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Line) });
}

describe('a pino logger given to runWorker', () => {
  const lines: Line[] = [];
  let worker: WorkerHandle;
  beforeAll(async () => {
    worker = await runWorker({
      tasks: 'test/fixtures/tasks.ts',
      database: t.db,
      schema: t.schema,
      pollInterval: 50,
      isolation: 'none',
      retry: 0,
      logger: pinoInto(lines),
    });
  });
  afterAll(async () => worker.stop({ grace: 1 }));

  it('gets every line, and each line about a task names it, its attempt and its trace', async () => {
    // Created by SQL in a transaction that set the trace context: the column's default takes it.
    const session = await t.db.pool.connect();
    let traced: string;
    try {
      await session.query('begin');
      await session.query(`select set_config('task_worker.trace_context', $1, true)`, [TRACEPARENT]);
      const { rows } = await session.query(
        `select task ->> 'id' as id from ${t.schema}.create_task('test.multiply', '[6, 7]') as f(task)`,
      );
      await session.query('commit');
      traced = rows[0].id as string;
    } finally {
      session.release();
    }
    const untraced = await t.db.query(
      `select task ->> 'id' as id from ${t.schema}.create_task('test.fail', '["no"]') as f(task)`,
    );
    const failedId = untraced.rows[0]!.id as string;

    const byEvent = (event: string, taskId: string) =>
      lines.find((line) => line.event === event && line.taskId === taskId);
    await waitFor(() => byEvent('task_completed', traced) && byEvent('task_failed', failedId));

    expect(lines.find((line) => line.event === 'worker_started')).toMatchObject({
      component: 'worker',
      level: 30,
      msg: 'worker_started',
    });
    const started = byEvent('task_started', traced);
    const completed = byEvent('task_completed', traced);
    for (const line of [started, completed]) {
      expect(line).toMatchObject({ taskId: traced, name: 'test.multiply', attempt: 1, traceId: TRACE_ID });
    }
    expect(completed).toMatchObject({ component: 'worker', level: 30, msg: 'task_completed' });
    const failed = byEvent('task_failed', failedId)!;
    expect(failed).toMatchObject({ name: 'test.fail', attempt: 1, level: 50, error: 'no' });
    expect(failed).not.toHaveProperty('traceId');
  });
});

describe('a logger that writes only warnings', () => {
  it('says so (pino, the own logger), and the worker does not even build its per-task lines', async () => {
    expect(toLogger(pino({ level: 'warn' })).enabled?.('info')).toBe(false);
    expect(toLogger(pino({ level: 'warn' })).enabled?.('warn')).toBe(true);
    expect(createLogger({ level: 'info', write: () => undefined }).enabled?.('debug')).toBe(false);

    const calls: Array<{ level: LogLevel; event: string }> = [];
    const logger: Logger = {
      log: (level, event) => void calls.push({ level, event }),
      enabled: (level) => level === 'warn' || level === 'error',
    };
    const worker = await runWorker({
      ...{ tasks: 'test/fixtures/tasks.ts', database: t.db, schema: t.schema, queues: ['quiet'] },
      ...{ pollInterval: 50, isolation: 'none', logger },
    });
    try {
      const { rows } = await t.db.query(
        `select task ->> 'id' as id from ${t.schema}.create_task('test.multiply', '[2, 3]', options => '{"queue": "quiet"}') as f(task)`,
      );
      await waitFor(async () => {
        const done = await t.db.query(`select status from ${t.schema}.tasks where id = $1`, [rows[0]!.id]);
        return done.rows[0]?.status === 'COMPLETED';
      });
    } finally {
      await worker.stop({ grace: 1 });
    }
    const perTask = calls.filter(({ event }) => event === 'task_started' || event === 'task_completed');
    expect(perTask).toEqual([]);
    // Lines the logger asked for still come (worker_started is info: the logger filters it).
    expect(calls.some(({ event }) => event === 'worker_started')).toBe(true);
  });
});

describe('a pino logger given to createApp', () => {
  it('gets a request_failed line for an unexpected error, with the path and no query string', async () => {
    const lines: Line[] = [];
    // A schema with no tables: every query of /stats fails with an unexpected error.
    const app = createApp({
      database: t.db,
      schema: `${t.schema}_none`,
      apiToken: 'tok',
      logger: pinoInto(lines),
    });
    const response = await app.request('/stats?secret=1', { headers: { authorization: 'Bearer tok' } });
    expect(response.status).toBe(500);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      component: 'http',
      event: 'request_failed',
      method: 'GET',
      path: '/stats',
      level: 50,
    });
    expect(String(lines[0]!.error)).toMatch(/does not exist/);
  });
});

describe('the readable format', () => {
  it("escapes control characters from a handler's error text; only a stack keeps its line breaks", () => {
    let out = '';
    const logger = createLogger({ format: 'pretty', write: (line) => (out += line) });
    logger.log('error', 'task_failed', {
      name: 'evil\x1b]0;title\x07',
      error: 'gone\x1b[2J\rforged line\nsecond\u009b',
      stack: 'Error: x\n    at handler (\x1b[31mtasks.ts:1)',
    });
    // Colour codes of the logger itself are the only escape sequences left.
    /* eslint-disable no-control-regex */
    const bare = out.replace(/\x1b\[\d+m/g, '');
    expect(bare.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    /* eslint-enable no-control-regex */
    expect(bare).toContain('name=evil\\x1b]0;title\\x07');
    expect(bare).toContain('gone\\x1b[2J\\rforged line\\nsecond\\x9b');
    expect(bare.split('\n')).toHaveLength(5); // the line, the error, two stack lines, the end
    expect(bare).toContain('    at handler (\\x1b[31mtasks.ts:1)');
  });
});

describe('toLogger', () => {
  it('refuses console and objects without a known shape, with a ConfigError', () => {
    expect(() => toLogger(console as never)).toThrow(ConfigError);
    expect(() => toLogger({} as never)).toThrow(/pino-compatible/);
  });
  it("takes the project's own interface as it is", () => {
    const own = createLogger({ write: () => undefined });
    expect(toLogger(own)).toBe(own);
  });
});

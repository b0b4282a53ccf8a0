/**
 * OpenTelemetry from enqueue to execution. The client (here over the real `neon()` HTTP client
 * and the local Neon endpoint, as on the edge) traces each create in a PRODUCER span and stores
 * its context in the row; a real `task-worker run` process, with an SDK preloaded the way users
 * set one up (`NODE_OPTIONS=--import`), runs the task in a CONSUMER span that is the create
 * span's child, hands that span's `traceparent` to the handler, and links a retry's span to the
 * attempt before. Without an SDK (or with `tracing: false`) nothing is stored and no statement is
 * added.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as otel from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNeonHttpDatabase } from '../src/adapters/edge/neon-http-database.ts';
import type { Database } from '../src/core/database.ts';
import { ConfigError } from '../src/core/errors.ts';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { runHandler } from '../src/core/execution/run-handler.ts';
import { createRunTracer } from '../src/core/tracing/run-spans.ts';
import { silentLogger } from '../worker/container/logger.ts';
import { runWorker } from '../worker/container/run-worker.ts';
import { startNeonEndpoint, type NeonEndpoint } from '../worker/dev/neon-endpoint.ts';
import { countingDatabase, neonConnectionString } from './support/drivers.ts';
import { useTestSchema } from './support/test-schema.ts';
import { waitFor } from './support/wait-for.ts';
import { startWorkerProcess } from './support/worker-process.ts';

const t = useTestSchema('tracing');
const exporter = new InMemorySpanExporter();
const PRODUCER = 3;
const CONSUMER = 4;
let endpoint: NeonEndpoint;
let neonDb: Database;
let dir: string;

/** A finished span as the worker's preloaded SDK writes it (test/fixtures/tracing-sdk.ts). */
interface SpanLine {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  attributes: Record<string, unknown>;
  status: { code: number; message?: string };
  links: Array<{ traceId: string; spanId: string; attributes: Record<string, unknown> }>;
  events: Array<{ name: string }>;
}

/** Makes `context.with` effective for synchronous code (enough for these calls). */
class StackContextManager implements otel.ContextManager {
  private current = otel.ROOT_CONTEXT;
  active() {
    return this.current;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: otel.Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const previous = this.current;
    this.current = context;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.current = previous;
    }
  }
  bind<T>(_context: otel.Context, target: T): T {
    return target;
  }
  enable() {
    return this;
  }
  disable() {
    this.current = otel.ROOT_CONTEXT;
    return this;
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'etw-tracing-'));
  endpoint = await startNeonEndpoint({
    databaseUrl: t.databaseUrl,
    authToken: randomBytes(16).toString('hex'),
  });
  neonDb = createNeonHttpDatabase({
    connectionString: neonConnectionString(t.databaseUrl),
    fetchEndpoint: endpoint.url,
    authToken: endpoint.authToken,
  });
});

afterAll(async () => {
  otel.trace.disable();
  otel.context.disable();
  await neonDb?.close();
  await endpoint?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function storedContext(id: string): Promise<string | null> {
  const { rows } = await t.db.query(`select trace_context from "${t.schema}".tasks where id = $1`, [id]);
  return rows[0]?.trace_context as string | null;
}

/** `traceparent` of a span, as stored and as handed to handlers. */
const traceparentOf = (span: { traceId: string; spanId: string }) => `00-${span.traceId}-${span.spanId}-01`;

describe('without an SDK, or with tracing off', () => {
  it('stores no trace context and sends no extra statement', async () => {
    // @opentelemetry/api is installed (found by default), but no tracer provider is registered yet.
    for (const tracing of [undefined, false as const]) {
      const counting = countingDatabase(neonDb);
      const client = createTaskClient({ database: counting, schema: t.schema, tracing });
      const task = await client.createTask('trace.echo');
      expect(counting.statements).toHaveLength(1);
      expect(await storedContext(task.id)).toBeNull();
    }
  });

  it('refuses a tracing option that is not the API module', () => {
    const create = () => createTaskClient({ database: neonDb, schema: t.schema, tracing: {} as never });
    expect(create).toThrow(ConfigError);
  });
});

describe('with an SDK registered', () => {
  beforeAll(() => {
    otel.context.setGlobalContextManager(new StackContextManager());
    otel.trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
  });

  it('creates over Neon HTTP in a PRODUCER span, a child of the caller, and stores its context', async () => {
    exporter.reset();
    const counting = countingDatabase(neonDb);
    const client = createTaskClient({ database: counting, schema: t.schema, tracing: otel });
    const request = otel.trace.getTracer('test').startSpan('request');
    const task = await otel.context.with(otel.trace.setSpan(otel.ROOT_CONTEXT, request), () =>
      client.createTask('trace.echo', { queue: 'traced' }),
    );
    request.end();
    expect(counting.statements).toHaveLength(1); // the context rides in the insert
    const create = exporter.getFinishedSpans().find((span) => span.name === 'task_worker.create trace.echo')!;
    expect(create.kind).toBe(PRODUCER);
    expect(create.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(create.attributes).toMatchObject({
      'messaging.system': 'edge_task_worker',
      'messaging.operation.type': 'create',
      'messaging.destination.name': 'traced',
      'messaging.message.id': task.id,
      'task_worker.task.name': 'trace.echo',
      'task_worker.task.created': true,
    });
    expect(await storedContext(task.id)).toBe(traceparentOf(create.spanContext()));
  });

  it('stores the context on every path: a batch, createTaskWith (set_config), create_task modes', async () => {
    exporter.reset();
    const client = createTaskClient({ database: neonDb, schema: t.schema, tracing: otel });
    const batch = await client.createTasks([{ name: 'trace.echo' }, { name: 'trace.echo', uniqueKey: 'k1' }]);
    const withResult = await client.createTaskWith([{ text: 'select 1', params: [] }], 'trace.echo');
    const pending = await client.createTask('trace.echo', { uniqueKey: 'k2', uniqueMode: 'pending' });
    const spans = exporter.getFinishedSpans();
    expect(spans.map((span) => span.name)).toEqual(Array(3).fill('task_worker.create trace.echo'));
    expect(spans[0]!.attributes['messaging.batch.message_count']).toBe(2);
    const [batchSpan, withSpan, pendingSpan] = spans.map((span) => traceparentOf(span.spanContext()));
    for (const task of batch) expect(await storedContext(task.id)).toBe(batchSpan);
    expect(await storedContext(withResult.task.id)).toBe(withSpan);
    expect(await storedContext(pending.id)).toBe(pendingSpan);
  });

  it('a real worker process continues the trace, passes it to the handler and links a retry', async () => {
    exporter.reset();
    const spansFile = join(dir, 'spans.jsonl');
    const worker = startWorkerProcess({
      databaseUrl: t.databaseUrl,
      schema: t.schema,
      args: ['--tasks', 'test/fixtures/tracing-tasks.ts', '--queues', 'e2e', '--poll-interval', '50'],
      env: {
        NODE_OPTIONS: `--import=${pathToFileURL(join(import.meta.dirname, 'fixtures/tracing-sdk.ts')).href}`,
        TRACING_SPANS_FILE: spansFile,
      },
    });
    try {
      const client = createTaskClient({ database: neonDb, schema: t.schema, tracing: otel });
      const echo = await client.createTask('trace.echo', { queue: 'e2e' });
      const flaky = await client.createTask('trace.fail_once', { queue: 'e2e', maxRetries: 1 });
      const created = new Map(exporter.getFinishedSpans().map((span) => [span.name, span.spanContext()]));
      const runs = await waitFor(
        () => {
          const text = (() => {
            try {
              return readFileSync(spansFile, 'utf8');
            } catch {
              return '';
            }
          })();
          const lines = text
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as SpanLine);
          return lines.length >= 3 && lines;
        },
        { what: 'three run spans', timeout: 15_000 },
      );
      const echoCreate = created.get('task_worker.create trace.echo')!;
      const echoRun = runs.find((span) => span.attributes['messaging.message.id'] === echo.id)!;
      expect(echoRun).toMatchObject({
        name: 'task_worker.run trace.echo',
        kind: CONSUMER,
        traceId: echoCreate.traceId,
        parentSpanId: echoCreate.spanId,
        links: [],
        status: { code: 0 },
      });
      expect(echoRun.attributes).toMatchObject({
        'messaging.system': 'edge_task_worker',
        'messaging.operation.type': 'process',
        'messaging.destination.name': 'e2e',
        'task_worker.task.name': 'trace.echo',
        'task_worker.task.attempt': 1,
        'task_worker.task.outcome': 'completed',
      });
      // The handler (in its thread) got the run span's own context.
      const done = await client.waitForCompletion(echo.id, { timeout: 10 });
      expect(done?.result).toBe(traceparentOf(echoRun));

      const flakyCreate = created.get('task_worker.create trace.fail_once')!;
      const attempts = runs
        .filter((span) => span.attributes['messaging.message.id'] === flaky.id)
        .sort(
          (a, b) =>
            Number(a.attributes['task_worker.task.attempt']) -
            Number(b.attributes['task_worker.task.attempt']),
        );
      expect(attempts).toHaveLength(2);
      const [first, second] = attempts as [SpanLine, SpanLine];
      for (const attempt of attempts) {
        expect(attempt).toMatchObject({ traceId: flakyCreate.traceId, parentSpanId: flakyCreate.spanId });
      }
      expect(first.attributes).toMatchObject({
        'task_worker.task.outcome': 'retry',
        'error.type': 'TypeError',
      });
      expect(first.attributes['task_worker.task.retry_at']).toEqual(expect.any(String));
      expect(first.status).toEqual({ code: 2, message: 'first attempt fails' });
      expect(first.events.map((event) => event.name)).toEqual(['exception']);
      expect(second.attributes['task_worker.task.outcome']).toBe('completed');
      expect(second.links).toEqual([
        {
          traceId: first.traceId,
          spanId: first.spanId,
          attributes: { 'task_worker.link.type': 'previous_attempt' },
        },
      ]);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  });

  it('a task its creator did not sample runs without a span and hands on the creator context', async () => {
    exporter.reset();
    const tracer = createRunTracer(otel, 'w1');
    const base = { id: 't1', name: 'trace.inner', queue: 'q', attempt: 1 };
    const unsampled = `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-00`;
    const run = tracer.start({ ...base, traceContext: unsampled })!;
    expect(run.traceparent).toBe(unsampled);
    expect(otel.trace.getSpanContext(run.context as otel.Context)).toMatchObject({
      spanId: 'cd'.repeat(8),
      traceFlags: 0,
    });
    run.end('completed');
    // The same task sampled: one span, the creator's child.
    const sampled = tracer.start({ ...base, traceContext: unsampled.replace(/-00$/, '-01') })!;
    sampled.end('completed');
    await exporter.forceFlush();
    expect(exporter.getFinishedSpans().map((span) => span.parentSpanContext?.spanId)).toEqual([
      'cd'.repeat(8),
    ]);
  });

  it('a create span the sampler leaves out stores "-" only; each run gets its own unsampled context', async () => {
    exporter.reset();
    // The same API with an SDK whose sampler records nothing, as a 10 % ratio does for 9 in 10.
    const dropping = new BasicTracerProvider({
      sampler: new AlwaysOffSampler(),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const trace = Object.assign(Object.create(otel.trace) as typeof otel.trace, {
      getTracerProvider: () => dropping,
      getTracer: (name: string) => dropping.getTracer(name),
    });
    const tracing = { ...otel, trace } as typeof otel;
    const client = createTaskClient({ database: neonDb, schema: t.schema, tracing });
    const [one, two] = await client.createTasks([{ name: 'trace.echo' }, { name: 'trace.echo' }]);
    expect(await storedContext(one!.id)).toBe('-');
    expect(await storedContext(two!.id)).toBe('-');

    // The worker's side: no span, and nothing kept per run (one shared stand-in)...
    const tracer = createRunTracer(otel, 'w1');
    const base = { name: 'trace.echo', queue: 'q', attempt: 1, traceContext: '-' };
    const runs = [tracer.start({ ...base, id: one!.id })!, tracer.start({ ...base, id: two!.id })!];
    expect(runs[0]).toBe(runs[1]);
    expect(tracer.sharedRun('-')).toBe(runs[0]);
    expect(runs[0]).toMatchObject({ recording: false, shared: true, traceparent: '-' });
    runs[0]!.end('completed');
    // ...yet each run's context (in process) and each handler's ctx.traceparent (any executor) is
    // an unsampled one of its own: unrelated runs never share a trace id.
    const contexts = runs.map((run) => otel.trace.getSpanContext(run.context as otel.Context)!);
    for (const context of contexts) expect(context).toMatchObject({ traceFlags: 0, isRemote: true });
    expect(contexts[0]!.traceId).not.toBe(contexts[1]!.traceId);
    const seen: (string | undefined)[] = [];
    const registry = {
      'trace.echo': (ctx: { traceparent?: string }) => void seen.push(ctx.traceparent, ctx.traceparent),
    };
    const task = { id: one!.id, name: 'trace.echo', argsJson: '[]', kwargsJson: '{}', attempt: 1 };
    for (let i = 0; i < 2; i++) {
      const outcome = await runHandler(registry, task, {
        signal: new AbortController().signal,
        traceparent: '-',
      });
      expect(outcome.ok).toBe(true);
    }
    for (const traceparent of seen) expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(seen[0]).toBe(seen[1]); // the same within a run
    expect(seen[2]).not.toBe(seen[0]);
    await exporter.forceFlush();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('in process (runWorker, isolation none): the handler runs with the run span active', async () => {
    exporter.reset();
    const client = createTaskClient({ database: t.db, schema: t.schema, tracing: otel });
    const task = await client.createTask('trace.inner', { queue: 'inproc' });
    const worker = await runWorker({
      ...{ database: t.db, schema: t.schema, tasks: 'test/fixtures/tracing-tasks.ts', queues: ['inproc'] },
      ...{ isolation: 'none', pollInterval: 50, logger: silentLogger, tracing: otel },
    });
    try {
      const done = await client.waitForCompletion(task.id, { timeout: 10 });
      const run = await waitFor(() =>
        exporter.getFinishedSpans().find((span) => span.name === 'task_worker.run trace.inner'),
      );
      const inner = exporter.getFinishedSpans().find((span) => span.name === 'inner work')!;
      expect(inner.parentSpanContext?.spanId).toBe(run.spanContext().spanId);
      expect(done?.result).toBe(traceparentOf(run.spanContext()));
    } finally {
      await worker.stop({ grace: 1 });
    }
  });

  it('a run cancelled while it runs ends its span as cancelled when it stops, not at shutdown', async () => {
    exporter.reset();
    const client = createTaskClient({ database: t.db, schema: t.schema, tracing: otel });
    const task = await client.createTask('trace.until_stopped', { queue: 'cancel' });
    const worker = await runWorker({
      ...{ database: t.db, schema: t.schema, tasks: 'test/fixtures/tracing-tasks.ts', queues: ['cancel'] },
      ...{ isolation: 'none', pollInterval: 50, logger: silentLogger, tracing: otel },
    });
    try {
      await waitFor(async () => (await client.getTask(task.id))?.status === 'PROGRESS');
      await client.cancelTask(task.id);
      const run = await waitFor(() =>
        exporter.getFinishedSpans().find((span) => span.name === 'task_worker.run trace.until_stopped'),
      );
      expect(run.attributes['task_worker.task.outcome']).toBe('cancelled');
      expect(run.attributes['messaging.message.id']).toBe(task.id);
    } finally {
      await worker.stop({ grace: 1 });
    }
  });
});

/**
 * The part of `@opentelemetry/api` that tracing uses, as structural types, and how the package
 * is found. It is an optional peer dependency: nothing here imports it statically, so a bundle
 * of the client never has to resolve it, and its types are not needed to compile against ours.
 *
 * Two ways in: the caller passes the module (`createClient({ tracing: otel })`,
 * `runWorker({ tracing: otel })`, with `import * as otel from '@opentelemetry/api'`), which
 * works on every runtime; or, left unset, it is loaded at first use through a specifier the
 * bundlers do not follow (Node, Bun, Deno; on workerd and other bundled edge runtimes the load
 * fails quietly and tracing stays off). Either way it is the user's SDK registration (the global
 * tracer provider) that decides whether anything is recorded: without one, nothing is.
 * Edge-safe.
 * @module
 */
import { ConfigError } from '../errors.ts';

/** An OpenTelemetry `Context` (opaque here). */
export type OtelContext = object;

/** `TraceState` (only its text form is read here). */
export interface OtelTraceState {
  set(key: string, value: string): OtelTraceState;
  unset(key: string): OtelTraceState;
  get(key: string): string | undefined;
  serialize(): string;
}

export interface OtelSpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote?: boolean;
  traceState?: OtelTraceState;
}

export type OtelAttributes = Record<string, string | number | boolean>;

export interface OtelLink {
  context: OtelSpanContext;
  attributes?: OtelAttributes;
}

export interface OtelSpanOptions {
  /** `SpanKind`: 3 PRODUCER, 4 CONSUMER. */
  kind?: number;
  attributes?: OtelAttributes;
  links?: OtelLink[];
  root?: boolean;
}

export interface OtelSpan {
  spanContext(): OtelSpanContext;
  setAttribute(key: string, value: string | number | boolean): this;
  setAttributes(attributes: OtelAttributes): this;
  /** `SpanStatusCode`: 0 UNSET, 1 OK, 2 ERROR. */
  setStatus(status: { code: number; message?: string }): this;
  recordException(exception: { name: string; message: string; stack?: string }): void;
  end(): void;
  isRecording(): boolean;
}

export interface OtelTracer {
  startSpan(name: string, options?: OtelSpanOptions, context?: OtelContext): OtelSpan;
}

/** The `@opentelemetry/api` module (namespace import), or any object shaped like it. */
export interface TracingApi {
  trace: {
    getTracer(name: string, version?: string): OtelTracer;
    getTracerProvider(): object;
    setSpanContext(context: OtelContext, spanContext: OtelSpanContext): OtelContext;
    setSpan(context: OtelContext, span: OtelSpan): OtelContext;
  };
  context: {
    active(): OtelContext;
    with<T>(context: OtelContext, fn: () => T): T;
  };
  ROOT_CONTEXT: OtelContext;
  createTraceState?(raw?: string): OtelTraceState;
  ProxyTracerProvider?: new () => { getDelegate(): object };
}

/** `SpanKind` and `SpanStatusCode` values (fixed by the OpenTelemetry specification). */
export const SPAN_KIND = { producer: 3, consumer: 4 } as const;
export const SPAN_STATUS = { unset: 0, error: 2 } as const;

/** The module, or its default export, when it has what tracing needs; else undefined. */
export function asTracingApi(module: unknown): TracingApi | undefined {
  for (const candidate of [module, (module as { default?: unknown } | null)?.default]) {
    const api = candidate as Partial<TracingApi> | null | undefined;
    if (
      typeof api?.trace?.getTracer === 'function' &&
      typeof api.trace.setSpanContext === 'function' &&
      typeof api.trace.setSpan === 'function' &&
      typeof api.context?.active === 'function' &&
      typeof api.context.with === 'function' &&
      api.ROOT_CONTEXT !== undefined
    ) {
      return api as TracingApi;
    }
  }
  return undefined;
}

/**
 * A `tracing` option checked: the API (its module, or its default export), `false` or
 * undefined. Anything else is a {@link ConfigError}.
 */
export function tracingOption(option: unknown): TracingApi | false | undefined {
  if (option === undefined || option === false) return option;
  const api = asTracingApi(option);
  if (!api) {
    throw new ConfigError(
      "tracing must be the @opentelemetry/api module (import * as otel from '@opentelemetry/api'), or false.",
    );
  }
  return api;
}

let loading: Promise<TracingApi | undefined> | undefined;

/**
 * Loads `@opentelemetry/api` if it can be imported here (once per process or isolate);
 * undefined when it cannot. Never rejects.
 */
export function loadTracingApi(): Promise<TracingApi | undefined> {
  // Built at run time and marked ignored, so that no bundler tries to resolve it.
  const specifier = ['@opentelemetry', 'api'].join('/');
  loading ??= (async () => {
    try {
      return asTracingApi(
        await import(/* webpackIgnore: true */ /* turbopackIgnore: true */ /* @vite-ignore */ specifier),
      );
    } catch {
      return undefined;
    }
  })();
  return loading;
}

/**
 * A check, cheap enough for every task, of whether an SDK registered a tracer provider: before
 * one is, the API's global provider hands out no-op tracers, and tracing is skipped entirely.
 * A provider that does not say (not the API's proxy) counts as registered.
 */
export function tracerProviderRegistered(api: TracingApi): () => boolean {
  let noop: object | undefined;
  try {
    if (api.ProxyTracerProvider) noop = new api.ProxyTracerProvider().getDelegate();
  } catch {
    noop = undefined;
  }
  return () => {
    const provider = api.trace.getTracerProvider() as { getDelegate?: () => object };
    return (
      noop === undefined || typeof provider.getDelegate !== 'function' || provider.getDelegate() !== noop
    );
  };
}

/** The registered SDK's tracer provider, for a flush before exit (undefined if it has none). */
export function flushableProvider(api: TracingApi): { forceFlush(): Promise<void> } | undefined {
  const proxy = api.trace.getTracerProvider() as { getDelegate?: () => object };
  const provider = (typeof proxy.getDelegate === 'function' ? proxy.getDelegate() : proxy) as {
    forceFlush?: () => Promise<void>;
  };
  return typeof provider.forceFlush === 'function'
    ? { forceFlush: () => provider.forceFlush!.call(provider) }
    : undefined;
}

/** The tracer of this library. */
export const TRACER_NAME = 'edge-task-worker';

/** `messaging.system` of every span. */
export const MESSAGING_SYSTEM = 'edge_task_worker';

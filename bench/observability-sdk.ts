/**
 * What the `…-observed` and `…-tracing` drain modes switch on, the way an operator would: an
 * OpenTelemetry SDK registered in the bench process (a BasicTracerProvider with a
 * BatchSpanProcessor, as in production, over an exporter that counts spans and drops them: no
 * network is measured), and a Prometheus registry the worker counts into, rendered once a second
 * as a scrape would.
 *
 * The sampler is ParentBased over a trace-id ratio, the usual production setting: the create
 * span (a root) is sampled at `sampleRatio` (1: every task; the 10 % mode sets 0.1), and each run
 * span follows its task's stored decision, so an unsampled task's run span records nothing.
 * @module
 */
import * as otel from '@opentelemetry/api';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

/** Spans exported since the bench started (proof that the observed modes traced). */
export const exportedSpans = { count: 0 };

const ratios = new Map<number, Sampler>();
let ratio = 1;

/** The root sampler, switched per mode (the SDK is registered once per process). */
const rootSampler: Sampler = {
  shouldSample: (...args) => ratioSampler(ratio).shouldSample(...args),
  toString: () => `TraceIdRatio(${ratio})`,
};

function ratioSampler(value: number): Sampler {
  let sampler = ratios.get(value);
  if (!sampler) ratios.set(value, (sampler = new TraceIdRatioBasedSampler(value)));
  return sampler;
}

let registered = false;

/**
 * Registers the SDK once, sets the share of tasks traced, and returns the API module to hand to
 * the client and the worker.
 */
export function observabilityApi(sampleRatio = 1): typeof otel {
  ratio = sampleRatio;
  if (!registered) {
    const exporter: SpanExporter = {
      export(spans, done) {
        exportedSpans.count += spans.length;
        done({ code: 0 });
      },
      async shutdown() {},
    };
    otel.trace.setGlobalTracerProvider(
      new BasicTracerProvider({
        sampler: new ParentBasedSampler({ root: rootSampler }),
        spanProcessors: [new BatchSpanProcessor(exporter)],
      }),
    );
    registered = true;
  }
  return otel;
}

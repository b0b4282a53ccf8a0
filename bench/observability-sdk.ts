/**
 * What the `…-observed` drain modes switch on, the way an operator would: an OpenTelemetry SDK
 * registered in the bench process (a BasicTracerProvider with a BatchSpanProcessor, as in
 * production, over an exporter that counts spans and drops them: no network is measured), and a
 * Prometheus registry the worker counts into, rendered once a second as a scrape would.
 * @module
 */
import * as otel from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Spans exported since the bench started (proof that the observed modes traced). */
export const exportedSpans = { count: 0 };

let registered = false;

/** Registers the SDK once and returns the API module to hand to the client and the worker. */
export function observabilityApi(): typeof otel {
  if (!registered) {
    const exporter: SpanExporter = {
      export(spans, done) {
        exportedSpans.count += spans.length;
        done({ code: 0 });
      },
      async shutdown() {},
    };
    otel.trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] }),
    );
    registered = true;
  }
  return otel;
}

/**
 * The W3C Trace Context text a task row stores (`trace_context`): strict parsing (anything not
 * exactly right is ignored, never thrown), the creator line with its `tracestate`, and the
 * second line a traced retry adds for the next attempt's span link.
 */
import { describe, expect, it } from 'vitest';
import {
  formatCreatorContext,
  formatTraceparent,
  parseStoredTraceContext,
  parseTraceparent,
  UNSAMPLED_CREATOR,
  validTraceState,
  withPreviousRun,
} from '../src/core/tracing/trace-context.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const PARENT = `00-${TRACE}-${SPAN}-01`;
const RUN = `00-${TRACE}-b7ad6b7169203331-01`;

describe('traceparent', () => {
  it('parses a valid one and formats it back', () => {
    expect(parseTraceparent(PARENT)).toEqual({ traceId: TRACE, spanId: SPAN, traceFlags: 1 });
    expect(formatTraceparent({ traceId: TRACE, spanId: SPAN, traceFlags: 0 })).toBe(`00-${TRACE}-${SPAN}-00`);
    // A later version may append fields: the first four are read.
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-01-extra`)).toMatchObject({ spanId: SPAN });
  });

  it.each([
    ['uppercase hex', PARENT.toUpperCase()],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['all-zero span id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${TRACE}-${SPAN}-01`],
    ['version 00 with more fields', `${PARENT}-01`],
    ['a short trace id', `00-${TRACE.slice(1)}-${SPAN}-01`],
    ['surrounding space', ` ${PARENT}`],
    ['garbage', 'not a traceparent'],
  ])('refuses %s', (_, text) => {
    expect(parseTraceparent(text)).toBeNull();
  });
});

describe('tracestate', () => {
  it('keeps valid lists (normalised) and drops invalid ones', () => {
    expect(validTraceState('rojo=00f067aa0ba902b7, congo=t61rcWkgMzE')).toBe(
      'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    );
    expect(validTraceState('tenant@vendor=x')).toBe('tenant@vendor=x');
    expect(validTraceState('Upper=1')).toBeNull();
    expect(validTraceState('a=1,a=2')).toBeNull();
    expect(validTraceState('a=x,y')).toBeNull();
    expect(validTraceState(`a=${'x'.repeat(600)}`)).toBeNull();
  });
});

describe('stored trace_context', () => {
  it('reads the creator line, its tracestate, and a previous run line', () => {
    const creator = formatCreatorContext({ traceId: TRACE, spanId: SPAN, traceFlags: 1 }, 'rojo=1');
    expect(creator).toBe(`${PARENT} rojo=1`);
    expect(parseStoredTraceContext(creator)).toEqual({
      parent: { traceId: TRACE, spanId: SPAN, traceFlags: 1, traceState: 'rojo=1' },
      previousRun: null,
    });
    const linked = withPreviousRun(creator, RUN);
    expect(linked).toBe(`${PARENT} rojo=1\n${RUN}`);
    expect(parseStoredTraceContext(linked)?.previousRun).toEqual({
      traceId: TRACE,
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
    });
    // Created untraced, then a traced attempt failed: only the link.
    expect(parseStoredTraceContext(withPreviousRun(null, RUN))).toMatchObject({ parent: null });
  });

  it('reads "-" as a creator that was not sampled, with nothing else of it kept', () => {
    expect(parseStoredTraceContext(UNSAMPLED_CREATOR)).toEqual({
      parent: null,
      previousRun: null,
      unsampled: true,
    });
    expect(withPreviousRun(UNSAMPLED_CREATOR, RUN)).toBe(`-\n${RUN}`);
    expect(parseStoredTraceContext(`-\n${RUN}`)).toMatchObject({
      unsampled: true,
      previousRun: { traceId: TRACE },
    });
    expect(parseStoredTraceContext('--')).toBeNull();
  });

  it('ignores what is not valid, part by part, and never throws', () => {
    expect(parseStoredTraceContext(null)).toBeNull();
    expect(parseStoredTraceContext('')).toBeNull();
    expect(parseStoredTraceContext('junk')).toBeNull();
    expect(parseStoredTraceContext(`${PARENT} Not=Valid`)).toEqual({
      parent: { traceId: TRACE, spanId: SPAN, traceFlags: 1 },
      previousRun: null,
    });
    expect(parseStoredTraceContext(`junk\n${RUN}`)).toMatchObject({ parent: null });
    expect(parseStoredTraceContext(`${PARENT}\njunk`)).toMatchObject({ previousRun: null });
    expect(parseStoredTraceContext(`${PARENT} ${'x'.repeat(2000)}`)).toBeNull();
    // A bad creator line is not carried into the retry's value.
    expect(withPreviousRun('junk', RUN)).toBe(`\n${RUN}`);
  });
});

/**
 * The W3C Trace Context text a task row carries in `trace_context` (migration 0010), parsed and
 * formatted here, strictly: a value that is not exactly right is ignored, never an error, since
 * any SQL caller can write the column (`set_config('task_worker.trace_context', …)`).
 *
 * Stored form, one or two lines:
 * - line 1: the creating span's `traceparent`, then its `tracestate` after one space when it has
 *   one; {@link UNSAMPLED_CREATOR} (`-`) when that span was not sampled; empty when the task was
 *   created without tracing;
 * - line 2 (after a traced attempt failed and a retry was scheduled): the `traceparent` of that
 *   attempt's run span, which the next attempt's span links to.
 *
 * A newline can be neither in a `traceparent` nor in a `tracestate`, so the two never mix up.
 * Edge-safe; no OpenTelemetry import.
 * @module
 */

/** The trace-flags bit "sampled". */
export const SAMPLED_FLAG = 0x01;

/** The span context fields a `traceparent` carries. */
export interface SpanContextFields {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** 16 lowercase hex digits, not all zero. */
  spanId: string;
  /** The trace-flags byte; bit 0 is "sampled". */
  traceFlags: number;
}

/** A parent to continue: its span context and its `tracestate` (already validated), if any. */
export interface ParentContext extends SpanContextFields {
  traceState?: string;
}

/**
 * Line 1 of `trace_context` when the creating span was not sampled. Nothing of that trace is
 * recorded, so nothing of it is kept: the row pays 2 bytes instead of the ~56 of a
 * `traceparent`, which Postgres rewrites with the row at every claim and write-back (about a
 * tenth of a no-op task's database work, for every unsampled task; docs/BENCHMARKS.md). The run
 * follows the decision (no span), and its handler gets a fresh unsampled context. A full
 * unsampled `traceparent` (set through SQL, or stored by an older client) is still read as such.
 */
export const UNSAMPLED_CREATOR = '-';

/**
 * What an executor hands a handler (`traceparent`) for a run of an unsampled creator that
 * stored only that fact: the handler's `ctx.traceparent` is then a fresh unsampled one, made
 * when it is read ({@link freshUnsampledTraceparent}; run-handler.ts).
 */
export const FRESH_UNSAMPLED = '-';

const HEX_BYTES = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
// Random bytes drawn 6 KiB at a time: one getRandomValues call per 256 contexts.
const randomPool = new Uint8Array(24 * 256);
let randomOffset = randomPool.length;

/** `bytes` random bytes as lowercase hex, never all zero (W3C ids must not be). */
function randomHex(bytes: number): string {
  if (randomOffset + bytes > randomPool.length) {
    crypto.getRandomValues(randomPool);
    randomOffset = 0;
  }
  let hex = '';
  let any = 0;
  for (let i = 0; i < bytes; i++) {
    const byte = randomPool[randomOffset++]!;
    any |= byte;
    hex += HEX_BYTES[byte];
  }
  return any === 0 ? `${hex.slice(0, -2)}01` : hex;
}

/**
 * Fresh random ids with the sampled flag off: what the SDK gives a root span its sampler leaves
 * out, so that the spans under it stay out too.
 */
export function freshUnsampledContext(): SpanContextFields {
  return { traceId: randomHex(16), spanId: randomHex(8), traceFlags: 0 };
}

/** The `traceparent` of a {@link freshUnsampledContext}. */
export function freshUnsampledTraceparent(): string {
  return formatTraceparent(freshUnsampledContext());
}

/** What a task row's `trace_context` says. */
export interface StoredTraceContext {
  /** The span that created the task, or null. */
  parent: ParentContext | null;
  /** Set when the task was created in a span that was not sampled ({@link UNSAMPLED_CREATOR}). */
  unsampled?: true;
  /** The run span of the attempt before, when it was traced and scheduled this retry; or null. */
  previousRun: SpanContextFields | null;
}

/** Longest `trace_context` value read; anything longer is ignored. */
const MAX_STORED = 1100;
/** Longest `tracestate` kept (OpenTelemetry's limit); a longer one is dropped. */
const MAX_TRACE_STATE = 512;
const MAX_TRACE_STATE_MEMBERS = 32;

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^\s]*)?$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);
// W3C tracestate list member: a simple or multi-tenant key, `=`, a value of printable ASCII
// without `,` and `=` that does not end with a space.
const TRACE_STATE_MEMBER =
  /^(?:[a-z0-9][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * Parses a W3C `traceparent` (version 00, or a later version's first four fields); null unless
 * it is valid: lowercase hex, trace and span ids not all zero, version not `ff`.
 */
export function parseTraceparent(text: string): SpanContextFields | null {
  const match = TRACEPARENT.exec(text);
  if (!match) return null;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string?,
  ];
  // Version 00 has exactly four fields; later versions may append more, which we ignore.
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return null;
  return { traceId, spanId, traceFlags: parseInt(flags, 16) };
}

/** The `traceparent` of a span context (version 00). */
export function formatTraceparent(fields: SpanContextFields): string {
  const flags = (fields.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${fields.traceId}-${fields.spanId}-${flags}`;
}

/** A `tracestate` header value if it is valid W3C (and at most 512 characters), else null. */
export function validTraceState(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.length > MAX_TRACE_STATE) return null;
  const members = trimmed
    .split(',')
    .map((member) => member.trim())
    .filter((member) => member !== '');
  if (members.length === 0 || members.length > MAX_TRACE_STATE_MEMBERS) return null;
  const keys = new Set<string>();
  for (const member of members) {
    if (!TRACE_STATE_MEMBER.test(member)) return null;
    const key = member.slice(0, member.indexOf('='));
    if (keys.has(key)) return null;
    keys.add(key);
  }
  return members.join(',');
}

/**
 * Line 1 of `trace_context` for a creating span: its `traceparent`, and its `tracestate` after
 * a space when it has a valid one.
 */
export function formatCreatorContext(fields: SpanContextFields, traceState?: string): string {
  const state = traceState ? validTraceState(traceState) : null;
  return state ? `${formatTraceparent(fields)} ${state}` : formatTraceparent(fields);
}

/**
 * Reads a row's `trace_context`: each part that is not valid is ignored (a bad `tracestate`
 * alone drops only the `tracestate`). Null when nothing in it is usable.
 */
export function parseStoredTraceContext(text: string | null | undefined): StoredTraceContext | null {
  if (typeof text !== 'string' || text === '' || text.length > MAX_STORED) return null;
  const newline = text.indexOf('\n');
  const creator = newline < 0 ? text : text.slice(0, newline);
  const previous = newline < 0 ? '' : text.slice(newline + 1);
  const previousRun = previous === '' ? null : parseTraceparent(previous);
  if (creator === UNSAMPLED_CREATOR) return { parent: null, previousRun, unsampled: true };
  const parent = parseCreator(creator);
  return parent || previousRun ? { parent, previousRun } : null;
}

function parseCreator(line: string): ParentContext | null {
  if (line === '') return null;
  const space = line.indexOf(' ');
  const fields = parseTraceparent(space < 0 ? line : line.slice(0, space));
  if (!fields) return null;
  const state = space < 0 ? null : validTraceState(line.slice(space + 1));
  return state ? { ...fields, traceState: state } : fields;
}

/**
 * `trace_context` after a traced attempt failed and scheduled a retry: the creator's line of
 * `stored` (when valid), then the failed run's `traceparent` (as its span formatted it).
 */
export function withPreviousRun(stored: string | null, runTraceparent: string): string {
  const read = parseStoredTraceContext(stored);
  const parent = read?.parent;
  const creator = parent
    ? formatCreatorContext(parent, parent.traceState)
    : read?.unsampled
      ? UNSAMPLED_CREATOR
      : '';
  return `${creator}\n${runTraceparent}`;
}

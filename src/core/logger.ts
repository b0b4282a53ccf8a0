/**
 * The log interface every part writes to, and the adapter that lets users hand in their own
 * logger instead: pino, or anything with pino's `debug`/`info`/`warn`/`error` and `child`
 * (bunyan, a pino-compatible wrapper over winston, a test spy). Edge-safe: no Node built-ins.
 * @module
 */
import { ConfigError } from './errors.ts';
import { parseTraceparent } from './tracing/trace-context.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Record<string, unknown>;

/** The project's own interface: one event name and its fields per line. */
export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
  /**
   * Whether a line at `level` would be written. Optional: without it every level counts as
   * written. The worker asks before building a line it writes per task, so a logger at `info`
   * pays nothing for `debug` lines.
   */
  enabled?(level: LogLevel): boolean;
}

/** Whether `logger` writes lines at `level` (true when it does not say). */
export function logsAt(logger: Logger, level: LogLevel): boolean {
  return logger.enabled?.(level) ?? true;
}

/**
 * A pino-compatible logger: each level method takes a fields object, then a message. Lines
 * are written as `logger[level]({ event, ...fields }, event)`.
 */
export interface PinoLikeLogger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
  child(bindings: Record<string, unknown>): PinoLikeLogger;
  /** pino's level check, used when present. */
  isLevelEnabled?(level: string): boolean;
}

/** What `runWorker({ logger })` and `createApp({ logger })` accept. */
export type AnyLogger = Logger | PinoLikeLogger;

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/**
 * The project's interface over `input`: a pino-compatible logger is adapted (its child carries
 * `component`), the project's own is returned as is. Anything else is a {@link ConfigError}:
 * `console` would print the level and event as separate arguments and lose the fields.
 */
export function toLogger(input: AnyLogger, component?: string): Logger {
  if (isPinoLike(input)) {
    const target = component ? input.child({ component }) : input;
    return {
      log(level, event, fields = {}) {
        target[level]({ event, ...fields }, event);
      },
      enabled(level) {
        return typeof target.isLevelEnabled === 'function' ? target.isLevelEnabled(level) : true;
      },
    };
  }
  if (typeof (input as Partial<Logger> | null)?.log === 'function' && !isConsoleLike(input)) {
    return input as Logger;
  }
  throw new ConfigError(
    'logger must be pino-compatible (debug, info, warn, error and child methods, e.g. pino()) or ' +
      'have log(level, event, fields) like createLogger(); console is neither.',
  );
}

function isPinoLike(input: unknown): input is PinoLikeLogger {
  const candidate = input as Record<string, unknown> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.child === 'function' &&
    LEVELS.every((level) => typeof candidate[level] === 'function')
  );
}

// console has log/info/warn/error/debug but no child: caught here so it is not taken as ours.
function isConsoleLike(input: unknown): boolean {
  const candidate = input as Record<string, unknown>;
  return typeof candidate.table === 'function' && typeof candidate.group === 'function';
}

/**
 * The trace id (32 hex digits) of a stored W3C trace context (`traceparent`, optionally a space
 * and `tracestate`), or undefined when there is none or it is malformed: log lines carry it so
 * a line can be found from its trace and back.
 */
export function traceIdOf(traceContext: string | null | undefined): string | undefined {
  if (!traceContext) return undefined;
  // Tasks created together share the text: the last one read is remembered.
  if (traceContext === lastTraceContext) return lastTraceId;
  // The creator's traceparent: the first line, before any tracestate (trace-context.ts).
  const creator = traceContext.split('\n', 1)[0]!.split(' ', 1)[0]!;
  lastTraceId = parseTraceparent(creator)?.traceId;
  lastTraceContext = traceContext;
  return lastTraceId;
}

let lastTraceContext: string | undefined;
let lastTraceId: string | undefined;

/** The fields every log line about a task run carries: its id, name, attempt and trace id. */
export function taskLogFields(task: {
  id: string;
  name: string;
  attempt: number;
  traceContext?: string | null;
}): LogFields {
  const traceId = traceIdOf(task.traceContext);
  const fields: LogFields = { taskId: task.id, name: task.name, attempt: task.attempt };
  if (traceId) fields.traceId = traceId;
  return fields;
}

/**
 * Structured logs: one JSON line per event (default), or a readable line on a TTY.
 * @module
 */
import type { Logger, LogLevel } from '../../src/core/logger.ts';

export type { AnyLogger, Logger, LogFields, LogLevel, PinoLikeLogger } from '../../src/core/logger.ts';
export { toLogger } from '../../src/core/logger.ts';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  /** `json` lines, or `pretty` for people (default: pretty on a TTY, else json). */
  format?: 'json' | 'pretty';
  /** Lowest level written (default: info). */
  level?: LogLevel;
  /** Where lines go (default: process.stdout). */
  write?: (line: string) => void;
  /** Called before a pretty line so a live status line can clear itself. */
  beforeWrite?: () => void;
}

const COLORS: Record<LogLevel, string> = {
  debug: '\x1b[90m',
  info: '\x1b[36m',
  warn: '\x1b[33m',
  error: '\x1b[31m',
};

export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const min = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  return {
    enabled: (level) => ORDER[level] >= min,
    log(level, event, fields = {}) {
      if (ORDER[level] < min) return;
      if (format === 'json') {
        write(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...fields })}\n`);
        return;
      }
      options.beforeWrite?.();
      write(prettyLine(level, event, fields));
    },
  };
}

/**
 * One line for people. Values come from handlers and task rows (error messages, names), so
 * control characters are escaped: a handler's error text must not move the cursor, clear the
 * screen or forge a line on the operator's terminal. Only a stack keeps its line breaks.
 */
function prettyLine(level: LogLevel, event: string, fields: Record<string, unknown>): string {
  const { error, stack, ...rest } = fields;
  const details = Object.entries(rest)
    .map(
      ([key, value]) =>
        `${escapeControls(key)}=${escapeControls(typeof value === 'string' ? value : JSON.stringify(value))}`,
    )
    .join(' ');
  const time = new Date().toISOString().slice(11, 23);
  let line = `${time} ${COLORS[level]}${level.padEnd(5)}\x1b[0m ${escapeControls(event)} ${details}`;
  if (error) line += `\n  ${COLORS.error}${escapeControls(String(error))}\x1b[0m`;
  if (stack && level === 'error') {
    line += `\n${String(stack).split('\n').map(escapeControls).join('\n')}`;
  }
  return `${line}\n`;
}

// C0 controls, DEL and C1 controls (0x9b is a one-byte CSI on some terminals).
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

/** `text` with control characters written as escapes (`\n`, `\t`, `\x1b`, ...). */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (char) => {
    if (char === '\n') return '\\n';
    if (char === '\r') return '\\r';
    if (char === '\t') return '\\t';
    return `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** A logger that drops everything (tests, embedding). */
export const silentLogger: Logger = { log() {}, enabled: () => false };

/**
 * Structured logs: one JSON line per event (default), or a readable line on a TTY.
 * @module
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
}

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
    log(level, event, fields = {}) {
      if (ORDER[level] < min) return;
      if (format === 'json') {
        write(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...fields })}\n`);
        return;
      }
      options.beforeWrite?.();
      const { error, stack, ...rest } = fields;
      const details = Object.entries(rest)
        .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
        .join(' ');
      const time = new Date().toISOString().slice(11, 23);
      let line = `${time} ${COLORS[level]}${level.padEnd(5)}\x1b[0m ${event} ${details}`;
      if (error) line += `\n  ${COLORS.error}${String(error)}\x1b[0m`;
      if (stack && level === 'error') line += `\n${String(stack)}`;
      write(`${line}\n`);
    },
  };
}

/** A logger that drops everything (tests, embedding). */
export const silentLogger: Logger = { log() {} };

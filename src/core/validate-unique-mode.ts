/**
 * Validation of `uniqueMode` and `uniquePeriod` (the dedup modes of migration 0009), a part of
 * `validateTask`.
 * @module
 */
import { TaskValidationError } from './errors.ts';

/** How a `uniqueKey` deduplicates: see `TaskOptions.uniqueMode`. */
export type UniqueMode = 'unfinished' | 'pending' | 'throttle' | 'debounce';

const UNIQUE_MODES: readonly string[] = ['unfinished', 'pending', 'throttle', 'debounce'];

/** Longest `uniquePeriod`, in seconds (1 year, like `delay`). */
const MAX_PERIOD = 31_536_000;

function invalid(
  code: 'INVALID_UNIQUE_MODE' | 'INVALID_UNIQUE_PERIOD' | 'INVALID_OPTIONS',
  field: string,
  message: string,
): never {
  throw new TaskValidationError(code, field, message);
}

/**
 * `uniqueMode` (default `'unfinished'` with a key; needs one) and `uniquePeriod` (required by
 * `throttle` and `debounce`, refused otherwise); `debounce` sets the run time itself. The SQL
 * function `task_unique_mode` (migration 0009) makes the same checks in the same order.
 */
export function checkUniqueMode(
  opts: Record<string, unknown>,
  uniqueKey: string | null,
  describeValue: (value: unknown) => string,
): { uniqueMode: UniqueMode | null; uniquePeriod: number | null } {
  let mode: UniqueMode | null = uniqueKey === null ? null : 'unfinished';
  const given = opts.uniqueMode;
  if (given !== undefined) {
    if (typeof given !== 'string' || !UNIQUE_MODES.includes(given)) {
      invalid(
        'INVALID_UNIQUE_MODE',
        'uniqueMode',
        `uniqueMode must be one of ${UNIQUE_MODES.join(', ')}, got ${describeValue(given)}.`,
      );
    }
    if (uniqueKey === null) invalid('INVALID_UNIQUE_MODE', 'uniqueMode', 'uniqueMode needs a uniqueKey.');
    mode = given as UniqueMode;
  }
  const period = opts.uniquePeriod;
  if (mode !== 'throttle' && mode !== 'debounce') {
    if (period !== undefined) {
      invalid(
        'INVALID_UNIQUE_PERIOD',
        'uniquePeriod',
        'uniquePeriod is only for uniqueMode throttle or debounce.',
      );
    }
    return { uniqueMode: mode, uniquePeriod: null };
  }
  if (period === undefined) {
    invalid('INVALID_UNIQUE_PERIOD', 'uniquePeriod', `uniqueMode ${mode} needs a uniquePeriod (seconds).`);
  }
  if (typeof period !== 'number' || !Number.isFinite(period) || period <= 0 || period > MAX_PERIOD) {
    invalid(
      'INVALID_UNIQUE_PERIOD',
      'uniquePeriod',
      `uniquePeriod must be a number of seconds above 0 and at most ${MAX_PERIOD}, got ${describeValue(period)}.`,
    );
  }
  if (mode === 'debounce' && (opts.runAt !== undefined || opts.delay !== undefined)) {
    invalid(
      'INVALID_OPTIONS',
      opts.runAt !== undefined ? 'runAt' : 'delay',
      'uniqueMode debounce sets the run time (now + uniquePeriod): give no runAt or delay.',
    );
  }
  return { uniqueMode: mode, uniquePeriod: period };
}

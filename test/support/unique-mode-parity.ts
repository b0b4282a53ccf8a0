/**
 * The parity cases of the dedup modes (migration 0009) for test/create-task-function.test.ts:
 * `create_task` refuses and accepts `uniqueMode` and `uniquePeriod` as the client does.
 */

/** One input that the client and `create_task` must treat alike. */
export interface ParityCase {
  label: string;
  name: string;
  options: unknown;
  max?: number;
  /** The messages differ (the code and the field do not). */
  ownMessage?: boolean;
}

export const refusedUniqueModes: ParityCase[] = [
  { label: 'unknown uniqueMode', name: 'ok', options: { uniqueKey: 'k', uniqueMode: 'once' } },
  { label: 'uniqueMode as a number', name: 'ok', options: { uniqueKey: 'k', uniqueMode: 1 } },
  { label: 'uniqueMode null', name: 'ok', options: { uniqueKey: 'k', uniqueMode: null } },
  { label: 'uniqueMode without a uniqueKey', name: 'ok', options: { uniqueMode: 'pending' } },
  {
    label: 'throttle without a uniquePeriod',
    name: 'ok',
    options: { uniqueKey: 'k', uniqueMode: 'throttle' },
  },
  {
    label: 'debounce with uniquePeriod 0',
    name: 'ok',
    options: { uniqueKey: 'k', uniqueMode: 'debounce', uniquePeriod: 0 },
  },
  {
    label: 'uniquePeriod over a year',
    name: 'ok',
    options: { uniqueKey: 'k', uniqueMode: 'throttle', uniquePeriod: 31_536_001 },
  },
  {
    label: 'uniquePeriod as a string',
    name: 'ok',
    options: { uniqueKey: 'k', uniqueMode: 'throttle', uniquePeriod: '5' },
  },
  {
    label: 'uniquePeriod with pending',
    name: 'ok',
    options: { uniqueKey: 'k', uniqueMode: 'pending', uniquePeriod: 5 },
  },
  { label: 'uniquePeriod with the default mode', name: 'ok', options: { uniqueKey: 'k', uniquePeriod: 5 } },
  { label: 'uniquePeriod without a uniqueKey', name: 'ok', options: { uniquePeriod: 5 } },
  {
    label: 'debounce with a delay',
    name: 'ok',
    options: { uniqueKey: 'k', uniqueMode: 'debounce', uniquePeriod: 5, delay: 1 },
  },
  {
    label: 'debounce with a runAt',
    name: 'ok',
    options: { uniqueKey: 'k', uniqueMode: 'debounce', uniquePeriod: 5, runAt: '2030-01-01T00:00:00Z' },
  },
  {
    label: 'bad uniqueMode and concurrencyKey: the mode first',
    name: 'ok',
    options: { uniqueKey: 'k', uniqueMode: 'x', concurrencyKey: '' },
  },
];

export const acceptedUniqueModes: ParityCase[] = [
  {
    label: "uniqueMode 'unfinished' (the default)",
    name: 'ok',
    options: { uniqueKey: 'parity:u', uniqueMode: 'unfinished' },
  },
  { label: "uniqueMode 'pending'", name: 'ok', options: { uniqueKey: 'parity:p', uniqueMode: 'pending' } },
  {
    label: "uniqueMode 'throttle' with a fractional period",
    name: 'ok',
    options: { uniqueKey: 'parity:t', uniqueMode: 'throttle', uniquePeriod: 0.5, delay: 3 },
  },
  {
    label: "uniqueMode 'debounce'",
    name: 'ok',
    options: { uniqueKey: 'parity:d', uniqueMode: 'debounce', uniquePeriod: 60 },
  },
];

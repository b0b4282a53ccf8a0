/**
 * Task ids: 22 URL-safe characters, time-ordered.
 *
 * 8 characters of millisecond timestamp (48 bits) then 14 random characters (84 bits from
 * `crypto.getRandomValues`), in an alphabet listed in ASCII order, so ids sort by creation
 * time under the `C` collation the `id` column uses, and cannot be guessed.
 * @module
 */
import { InvalidTaskIdError } from './errors.ts';

const ALPHABET = '-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz';
const TIME_CHARS = 8;
const RANDOM_CHARS = 14;
const ID_PATTERN = /^[-0-9A-Za-z_]{22}$/;

/** A new task id. `now` is injectable for tests (default: `Date.now()`). */
export function newTaskId(now: number = Date.now()): string {
  let time = '';
  let remaining = Math.floor(now);
  for (let i = 0; i < TIME_CHARS; i++) {
    time = ALPHABET[remaining % 64] + time;
    remaining = Math.floor(remaining / 64);
  }
  const bytes = crypto.getRandomValues(new Uint8Array(RANDOM_CHARS));
  let random = '';
  for (const byte of bytes) random += ALPHABET[byte & 63];
  return time + random;
}

/** True when `id` has the shape of a task id. */
export function isTaskId(id: unknown): id is string {
  return typeof id === 'string' && ID_PATTERN.test(id);
}

/** Returns `id` when it has the shape of a task id, or throws {@link InvalidTaskIdError}. */
export function assertTaskId(id: unknown): string {
  if (!isTaskId(id)) throw new InvalidTaskIdError(id);
  return id;
}

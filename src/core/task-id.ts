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

let lastTime = -1;
let lastPrefix = '';
// The random part of the last id, one base-64 digit per character; incremented in place.
const lastRandom = new Uint8Array(RANDOM_CHARS);

/**
 * A new task id. Ids made by one process are strictly increasing: within the same
 * millisecond the random part is incremented, so a batch keeps its order (the claim order's
 * last tie-break). `now` is injectable for tests (default: `Date.now()`).
 */
export function newTaskId(now: number = Date.now()): string {
  const time = Math.floor(now);
  if (time <= lastTime) {
    let i = RANDOM_CHARS - 1;
    while (i >= 0 && lastRandom[i] === 63) lastRandom[i--] = 0;
    if (i < 0) return newTaskId(lastTime + 1);
    lastRandom[i] = (lastRandom[i] as number) + 1;
  } else {
    crypto.getRandomValues(lastRandom);
    for (let i = 0; i < RANDOM_CHARS; i++) lastRandom[i] = (lastRandom[i] as number) & 63;
    lastTime = time;
    lastPrefix = timePrefix(time);
  }
  let id = lastPrefix;
  for (let i = 0; i < RANDOM_CHARS; i++) id += ALPHABET[lastRandom[i] as number];
  return id;
}

/**
 * The smallest id of a task created at `time` (ms): every id made at or after `time` sorts
 * after it, every id made before sorts before. Lets time-range queries walk the primary key.
 */
export function taskIdFloor(time: number): string {
  return timePrefix(Math.max(0, Math.floor(time))) + ALPHABET[0]!.repeat(RANDOM_CHARS);
}

/** The 8 leading characters: milliseconds in base 64, most significant first. */
function timePrefix(time: number): string {
  let prefix = '';
  let remaining = time;
  for (let i = 0; i < TIME_CHARS; i++) {
    prefix = ALPHABET[remaining % 64] + prefix;
    remaining = Math.floor(remaining / 64);
  }
  return prefix;
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

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
let lastRandom: number[] = [];

/**
 * A new task id. Ids made by one process are strictly increasing: within the same
 * millisecond the random part is incremented, so a batch keeps its order (the claim order's
 * last tie-break). `now` is injectable for tests (default: `Date.now()`).
 */
export function newTaskId(now: number = Date.now()): string {
  let time = Math.floor(now);
  let random: number[];
  if (time <= lastTime) {
    time = lastTime;
    random = [...lastRandom];
    let i = RANDOM_CHARS - 1;
    while (i >= 0 && random[i] === 63) random[i--] = 0;
    if (i < 0) return newTaskId(lastTime + 1);
    random[i] = (random[i] as number) + 1;
  } else {
    random = Array.from(crypto.getRandomValues(new Uint8Array(RANDOM_CHARS)), (byte) => byte & 63);
  }
  lastTime = time;
  lastRandom = random;
  return timePrefix(time) + random.map((digit) => ALPHABET[digit]).join('');
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

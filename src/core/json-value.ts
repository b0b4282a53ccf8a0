/**
 * Strict JSON serialisation. `JSON.stringify` silently turns `NaN` into `null`, drops
 * `undefined` array slots to `null`, turns a `Map` into `{}` and throws an opaque error on
 * `BigInt` or cycles. Arguments are stored for later execution, so a silent change is data
 * loss: here every value that would not survive the round trip is refused, with its path.
 * @module
 */
import { TaskValidationError } from './errors.ts';

// Postgres `jsonb` refuses NUL characters and lone surrogates; catching them here keeps the
// error typed and the row unwritten instead of surfacing as a 22P05 from the database.
/** Strings Postgres cannot store in text or jsonb: a NUL character or a lone surrogate. */
export const UNSTORABLE_STRING =
  // eslint-disable-next-line no-control-regex
  /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Deepest nesting of arrays and objects accepted (deeper JSON is refused, not stack-overflowed). */
export const MAX_JSON_DEPTH = 64;

/**
 * A plain object of any realm: `{}`-made, `Object.create(null)`, or parsed by another realm's
 * JSON (Next.js edge routes and Workers' `request.json()` can hand over such objects, whose
 * `Object.prototype` is not this one's). Class instances (`Map`, `Date` without toJSON...) are not.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

// Cheap pre-test: most strings hold none of these characters at all.
// eslint-disable-next-line no-control-regex
const SUSPECT_CHARACTER = /[\u0000\uD800-\uDFFF]/;

function isUnstorable(text: string): boolean {
  return SUSPECT_CHARACTER.test(text) && UNSTORABLE_STRING.test(text);
}

const UNSTORABLE_GLOBAL = new RegExp(UNSTORABLE_STRING.source, 'g');

/**
 * `text` with every character Postgres cannot store (a NUL, a lone surrogate) replaced by
 * U+FFFD, the replacement character; the length stays the same. For text that is recorded
 * rather than refused, such as a handler's error message.
 */
export function storableText(text: string): string {
  return SUSPECT_CHARACTER.test(text) ? text.replace(UNSTORABLE_GLOBAL, '\uFFFD') : text;
}

/** Where the walk is: the objects from the root down (for cycles) and the keys taken. */
interface Walk {
  field: string;
  objects: object[];
  keys: (string | number)[];
}

function pathOf(walk: Walk, extraKey?: string): string {
  let path = walk.field;
  for (const key of extraKey === undefined ? walk.keys : [...walk.keys, extraKey]) {
    path += typeof key === 'number' ? `[${key}]` : `.${key}`;
  }
  return path;
}

function fail(walk: Walk, what: string, hint = 'convert it first', extraKey?: string): never {
  throw new TaskValidationError(
    'NOT_JSON',
    walk.field,
    `${pathOf(walk, extraKey)} is ${what}, which is not JSON; ${hint}.`,
  );
}

// Paths are only formatted on failure: the walk keeps keys on a stack instead of building a
// string per value (bulk inserts validate every argument of every task).
function check(value: unknown, walk: Walk): void {
  switch (typeof value) {
    case 'string':
      if (isUnstorable(value)) fail(walk, 'a string with a NUL character or a lone surrogate');
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) fail(walk, String(value));
      return;
    case 'bigint':
      fail(walk, `a BigInt (${value}n)`, 'pass it as a string');
    // falls through (fail never returns)
    case 'undefined':
      fail(walk, 'undefined');
    // falls through
    case 'function':
      fail(walk, 'a function');
    // falls through
    case 'symbol':
      fail(walk, 'a symbol');
  }
  if (value === null) return;
  const object = value as object;
  if (walk.objects.includes(object)) fail(walk, 'a circular reference');
  const toJSON = (object as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    // Dates and similar define their own JSON form; check what they turn into.
    check(toJSON.call(object), walk);
    return;
  }
  if (walk.objects.length >= MAX_JSON_DEPTH) {
    fail(walk, `nested deeper than ${MAX_JSON_DEPTH} levels`, 'flatten it');
  }
  walk.objects.push(object);
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      walk.keys.push(i);
      check(object[i], walk);
      walk.keys.pop();
    }
  } else {
    if (!isPlainObject(object)) {
      fail(walk, `a ${(object.constructor as { name?: string } | undefined)?.name ?? 'class'} instance`);
    }
    for (const key of Object.keys(object)) {
      if (isUnstorable(key)) {
        fail(walk, 'a key with a NUL character or a lone surrogate', undefined, JSON.stringify(key));
      }
      const child = (object as Record<string, unknown>)[key];
      // An undefined property means "not set" and is dropped, as JSON.stringify does.
      if (child === undefined) continue;
      walk.keys.push(key);
      check(child, walk);
      walk.keys.pop();
    }
  }
  walk.objects.pop();
}

/**
 * Serialises `value` to JSON text, or throws {@link TaskValidationError} (`NOT_JSON`) naming
 * the first value that is not JSON: BigInt, function, symbol, `undefined` in an array,
 * `NaN`/`Infinity`, a class instance such as `Map`, a cycle, or a string Postgres cannot store.
 */
export function toStrictJson(value: unknown, field: string): string {
  check(value, { field, objects: [], keys: [] });
  return JSON.stringify(value);
}

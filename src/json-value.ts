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

function fail(field: string, path: string, what: string, hint = 'convert it first'): never {
  throw new TaskValidationError('NOT_JSON', field, `${path} is ${what}, which is not JSON; ${hint}.`);
}

function check(value: unknown, field: string, path: string, ancestors: Set<object>, depth = 0): void {
  switch (typeof value) {
    case 'string':
      if (UNSTORABLE_STRING.test(value))
        fail(field, path, 'a string with a NUL character or a lone surrogate');
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) fail(field, path, String(value));
      return;
    case 'bigint':
      fail(field, path, `a BigInt (${value}n)`, 'pass it as a string');
    // falls through (fail never returns)
    case 'undefined':
      fail(field, path, 'undefined');
    // falls through
    case 'function':
      fail(field, path, 'a function');
    // falls through
    case 'symbol':
      fail(field, path, 'a symbol');
  }
  if (value === null) return;
  const object = value as object;
  if (ancestors.has(object)) fail(field, path, 'a circular reference');
  const toJSON = (object as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    // Dates and similar define their own JSON form; check what they turn into.
    check(toJSON.call(object), field, path, ancestors, depth);
    return;
  }
  if (depth >= MAX_JSON_DEPTH) fail(field, path, `nested deeper than ${MAX_JSON_DEPTH} levels`, 'flatten it');
  ancestors.add(object);
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) check(object[i], field, `${path}[${i}]`, ancestors, depth + 1);
  } else {
    if (!isPlainObject(object)) {
      fail(
        field,
        path,
        `a ${(object.constructor as { name?: string } | undefined)?.name ?? 'class'} instance`,
      );
    }
    for (const [key, child] of Object.entries(object)) {
      // An undefined property means "not set" and is dropped, as JSON.stringify does.
      if (UNSTORABLE_STRING.test(key))
        fail(field, `${path}.${JSON.stringify(key)}`, 'a key with a NUL character or a lone surrogate');
      if (child !== undefined) check(child, field, `${path}.${key}`, ancestors, depth + 1);
    }
  }
  ancestors.delete(object);
}

/**
 * Serialises `value` to JSON text, or throws {@link TaskValidationError} (`NOT_JSON`) naming
 * the first value that is not JSON: BigInt, function, symbol, `undefined` in an array,
 * `NaN`/`Infinity`, a class instance such as `Map`, a cycle, or a string Postgres cannot store.
 */
export function toStrictJson(value: unknown, field: string): string {
  check(value, field, field, new Set());
  return JSON.stringify(value);
}

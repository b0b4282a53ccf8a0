/**
 * Reading a JSON request body: parse errors become 400 `INVALID_JSON`, and values that would
 * only fail later, deep in the client or in Postgres, are refused up front with their path.
 * @module
 */
import type { Context } from 'hono';
import { MAX_JSON_DEPTH, UNSTORABLE_STRING } from '../core/json-value.ts';
import { HttpError } from './error-response.ts';

// Same rules as src/json-value.ts, applied to the whole body without recursion first, so a
// body nested a million levels deep is refused before anything recursive walks it.
export { MAX_JSON_DEPTH };

function child(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/**
 * Refuses what JSON.parse accepts but storing would not: nesting deeper than
 * {@link MAX_JSON_DEPTH} and strings (keys included) with NUL or lone surrogates. `root`
 * names the body in error fields: `''` for an object (fields read `kwargs.when`), `tasks`
 * for an array (`tasks[2].queue`, as `createTasks` names them).
 *
 * Walks without recursion: V8 parses JSON nested a million levels deep, but the recursive
 * checks after it overflow their stack at ~10,000 levels, and Postgres somewhere below 100,000.
 * @throws HttpError 400 `INVALID_JSON` (too deep) or `NOT_JSON` (unstorable string).
 */
export function assertStorableJson(body: unknown, root: string): void {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [
    { value: body, path: root, depth: 0 },
  ];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value, path, depth } = item;
    if (typeof value === 'string') {
      if (UNSTORABLE_STRING.test(value)) {
        throw new HttpError(400, 'NOT_JSON', `${path} has a NUL character or a lone surrogate.`, {
          field: path,
        });
      }
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_JSON_DEPTH) {
      throw new HttpError(
        400,
        'INVALID_JSON',
        `The request body is nested deeper than ${MAX_JSON_DEPTH} levels at ${path}.`,
        { field: path },
      );
    }
    if (Array.isArray(value)) {
      value.forEach((element, index) =>
        stack.push({ value: element, path: child(path, index), depth: depth + 1 }),
      );
      continue;
    }
    for (const [key, element] of Object.entries(value)) {
      if (UNSTORABLE_STRING.test(key)) {
        const where = path === '' ? 'the request body' : path;
        throw new HttpError(400, 'NOT_JSON', `A key in ${where} has a NUL character or a lone surrogate.`, {
          field: path === '' ? 'body' : path,
        });
      }
      stack.push({ value: element, path: child(path, key), depth: depth + 1 });
    }
  }
}

/**
 * Reads and parses the request body, whatever its `Content-Type`.
 * @throws HttpError 400 `INVALID_JSON` or `INVALID_BODY` (the body stream failed).
 */
export async function readJsonBody(c: Context): Promise<unknown> {
  let text: string;
  try {
    text = await c.req.text();
  } catch {
    throw new HttpError(400, 'INVALID_BODY', 'The request body could not be read.');
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? ` (${error.message})` : '';
    throw new HttpError(400, 'INVALID_JSON', `The request body is not valid JSON${reason}.`, {
      field: 'body',
    });
  }
  return body;
}

/**
 * 1,000 random requests (methods, paths, query strings, bodies of random shapes and wrong
 * types) against the API on a real Postgres: none may produce a 5xx, and every error must
 * have the API's one error shape. Seeded: the seed is printed, and `HTTP_FUZZ_SEED=<seed>`
 * replays a run exactly.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { createApp } from '../src/http/index.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('http_fuzz');
const TOKEN = 'fuzz-token';
const REQUESTS = 1000;
const SEED = Number(process.env.HTTP_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));

/** mulberry32: tiny, fast, good enough to explore inputs reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const rng = prng(SEED);
const int = (n: number): number => Math.floor(rng() * n);
const chance = (p: number): boolean => rng() < p;
function pick<T>(items: readonly T[]): T {
  return items[int(items.length)] as T;
}

const FIELDS = [
  'name',
  'args',
  'kwargs',
  'timeout',
  'queue',
  'priority',
  'runAt',
  'delay',
  'maxRetries',
  'uniqueKey',
];
const ID_ALPHABET = '-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz';
const existingIds: string[] = [];
const cursors: string[] = [];

function randomString(): string {
  switch (int(14)) {
    case 0:
      return '';
    case 1:
      return 'app.tasks.fuzz';
    case 2:
      return pick(['\u0000', 'a\u0000b', '\ud800', 'x\udc00y', '\ud83d\ude00', 'ünï', '\u202e', '\uffff']);
    case 3:
      return 'x'.repeat(int(3) === 0 ? 5000 : 201);
    case 4:
      return pick(["' or 1=1 --", '"; drop table tasks; --', '$1', '%s', '../..', '\\', '`']);
    case 5:
      return pick(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty']);
    case 6:
      return pick(['PENDING', 'FAILED', 'pending', 'DONE', 'COMPLETED']);
    case 7:
      return pick([
        '2030-01-01T00:00:00Z',
        '0000-01-01T00:00:00Z',
        '+275760-09-13T00:00:00.000Z',
        '-271821-04-20T00:00:00.000Z',
        '1',
        'tomorrow',
        '2025-02-30',
        '1970-01-01T00:00:00.000Z',
      ]);
    case 8:
      return pick([
        '0',
        '-1',
        '1e308',
        'NaN',
        'Infinity',
        '0x10',
        '0.2',
        '1.5',
        ' 5',
        '500',
        '501',
        '99999999999',
      ]);
    case 9:
      return Array.from({ length: int(30) }, () => String.fromCharCode(int(0x10000))).join('');
    case 10:
      return Array.from({ length: 22 }, () => pick([...ID_ALPHABET])).join('');
    default:
      return Array.from({ length: int(20) }, () => String.fromCharCode(32 + int(95))).join('');
  }
}

function randomNumber(): number {
  return pick([
    0,
    -0,
    1,
    -1,
    0.5,
    300,
    2 ** 31,
    -(2 ** 31),
    2 ** 53 + 2,
    1e308,
    -1e308,
    5e-324,
    604_800,
    604_801,
    int(1000) - 500,
    rng() * 1e6,
  ]);
}

function randomJson(depth = 0): unknown {
  const kind = depth > 4 ? int(4) : int(7);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return chance(0.5);
    case 2:
      return randomNumber();
    case 3:
      return randomString();
    case 4:
      return Array.from({ length: int(5) }, () => randomJson(depth + 1));
    case 5: {
      const object: Record<string, unknown> = {};
      for (let i = int(5); i > 0; i--)
        object[chance(0.5) ? pick(FIELDS) : randomString()] = randomJson(depth + 1);
      return object;
    }
    default: {
      // Deep nesting, around and past the API's depth limit.
      let value: unknown = randomJson(5);
      for (let i = 40 + int(60); i > 0; i--) value = chance(0.5) ? [value] : { a: value };
      return value;
    }
  }
}

/** A value that often passes validation, so the write path sees odd but legal values too. */
function plausible(field: string): unknown {
  switch (field) {
    case 'name':
      return pick(['app.tasks.fuzz', 'a', 'x'.repeat(200), 'app/tasks:v2-1_x', '9.tasks']);
    case 'args':
      return Array.from({ length: int(4) }, () => randomJson(1));
    case 'kwargs':
      return Object.fromEntries(Array.from({ length: int(4) }, () => [randomString(), randomJson(1)]));
    case 'timeout':
      return pick([null, 1, 300, 604_800, 1 + int(1000)]);
    case 'priority':
      return pick([0, 2_147_483_647, -2_147_483_647, int(100) - 50]);
    case 'runAt':
      return pick([
        '2030-01-01T00:00:00Z',
        '1970-01-01T00:00:00.000Z',
        '0001-01-01T00:00:00.000Z',
        '9999-12-31T23:59:59.999Z',
        'Tue, 01 Jan 2030 00:00:00 GMT',
        '2030-01-01',
        new Date().toISOString(),
      ]);
    case 'delay':
      return pick([0, rng() * 1000, 31_536_000, 0.001]);
    case 'maxRetries':
      return int(1001);
    case 'queue':
    case 'uniqueKey':
      return chance(0.5) ? `${field}-${int(1000)}` : randomString();
    default:
      return randomJson(2);
  }
}

/** A task body: mostly plausible, with some fields replaced by junk of any type. */
function randomTaskBody(): Record<string, unknown> {
  const body: Record<string, unknown> = chance(0.9) ? { name: plausible('name') } : {};
  for (const field of FIELDS) if (chance(0.35)) body[field] = plausible(field);
  for (let junk = chance(0.5) ? 1 + int(2) : 0; junk > 0; junk--) {
    body[pick(FIELDS)] = pick([
      randomJson(2),
      randomNumber(),
      randomString(),
      [randomJson(3)],
      { k: randomJson(3) },
    ]);
  }
  if (chance(0.05)) body[randomString()] = randomJson(2);
  return body;
}

function randomBodyText(): string | undefined {
  switch (int(10)) {
    case 0:
      return undefined;
    case 1:
      return '';
    case 2: {
      const text = JSON.stringify(randomTaskBody());
      return text.slice(0, int(text.length));
    }
    case 3:
      return pick(['{', '[', 'nul', '{"name":}', '\u0000', '\ufeff{}', '{"a":1}{"b":2}', "{'name':'x'}"]);
    case 4:
      return JSON.stringify(
        Array.from({ length: int(6) }, () => (chance(0.8) ? randomTaskBody() : randomJson(3))),
      );
    case 5:
      return JSON.stringify(randomJson());
    case 6:
      // Beyond any depth limit, as text: JSON.stringify itself would overflow building it.
      return `{"name":"app.tasks.fuzz","args":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    case 7:
      return chance(0.05)
        ? `{"name":"app.tasks.fuzz","args":["${'x'.repeat(2_200_000)}"]}`
        : JSON.stringify(randomTaskBody());
    default:
      return JSON.stringify(randomTaskBody());
  }
}

function encode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    // A lone surrogate cannot be percent-encoded; send the invalid UTF-8 bytes of one instead.
    return '%ED%A0%80';
  }
}

function randomId(): string {
  switch (int(6)) {
    case 0:
    case 1:
      return existingIds.length > 0 ? pick(existingIds) : '0000000000000000000000';
    case 2:
      return '0000000000000000000000';
    case 3:
      return pick(['%', '%zz', '%00', '..', '%2F', 'a%2Fb', '%ED%A0%80']);
    default:
      return encode(randomString());
  }
}

function randomPath(): string {
  switch (int(8)) {
    case 0:
      return '/tasks';
    case 1:
      return `/tasks/${randomId()}`;
    case 2:
      return `/tasks/${randomId()}/${pick(['wait', 'cancel', 'retry', 'nope', ''])}`;
    case 3:
      return pick(['/stats', '/healthz', '/', '/tasks/', '//tasks', '/TASKS', '/dashboard']);
    default:
      return pick(['/tasks', `/tasks/${randomId()}/wait`, `/tasks/${randomId()}`]);
  }
}

function randomQuery(): string {
  const params: string[] = [];
  for (let i = int(5); i > 0; i--) {
    const key = chance(0.85)
      ? pick(['status', 'name', 'queue', 'limit', 'cursor', 'timeout'])
      : encode(randomString());
    let value: string;
    if (key === 'cursor' && cursors.length > 0 && chance(0.5)) {
      const cursor = pick(cursors);
      value = chance(0.5) ? cursor : cursor.slice(0, int(cursor.length)) + pick(['A', '_', '-', '']);
    } else if (key === 'cursor' && chance(0.5)) {
      value = Buffer.from(JSON.stringify(randomJson(2)) ?? 'null').toString('base64url');
    } else {
      value = encode(randomString());
    }
    params.push(`${key}=${value}`);
  }
  return params.length > 0 ? `?${params.join('&')}` : '';
}

interface FuzzRequest {
  method: string;
  path: string;
  body?: string | undefined;
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];

/** Mostly well-aimed requests (right method and route, odd values), some pure chaos. */
function randomRequest(): FuzzRequest {
  let request: FuzzRequest;
  switch (int(12)) {
    case 0:
    case 1:
    case 2:
      request = { method: 'POST', path: '/tasks', body: randomBodyText() };
      break;
    case 3:
      request = { method: 'POST', path: '/tasks', body: JSON.stringify(randomTaskBody()) };
      break;
    case 4:
    case 5:
      request = { method: 'GET', path: `/tasks${randomQuery()}` };
      break;
    case 6:
      request = { method: 'GET', path: `/tasks/${randomId()}` };
      break;
    case 7:
      request = { method: 'GET', path: `/tasks/${randomId()}/wait${randomQuery()}` };
      break;
    case 8:
      request = { method: 'POST', path: `/tasks/${randomId()}/${pick(['cancel', 'retry'])}` };
      break;
    case 9:
      request = { method: 'GET', path: pick(['/stats', '/healthz']) + randomQuery() };
      break;
    default:
      request = { method: pick(METHODS), path: randomPath() + randomQuery(), body: randomBodyText() };
  }
  if (chance(0.1)) request.method = pick(METHODS);
  // Fetch refuses a body on GET and HEAD.
  if (request.method === 'GET' || request.method === 'HEAD') request.body = undefined;
  return request;
}

interface Failure {
  index: number;
  request: string;
  status: number;
  response: string;
  logged: string[];
}

let app: Hono;
const logged: unknown[] = [];
beforeAll(async () => {
  app = createApp({
    database: t.db,
    schema: t.schema,
    apiToken: TOKEN,
    maxWaitSeconds: 0.05,
    onError: (error) => logged.push(error),
  });
  const response = await app.request('/tasks', {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(Array.from({ length: 20 }, (_, i) => ({ name: 'app.tasks.fuzz', args: [i] }))),
  });
  existingIds.push(...((await response.json()) as Array<{ id: string }>).map((task) => task.id));
});

describe('HTTP API fuzz', () => {
  it(`answers ${REQUESTS} random requests without a 5xx, errors always in the one shape`, async () => {
    console.log(`HTTP fuzz seed: ${SEED} (replay with HTTP_FUZZ_SEED=${SEED})`);
    const failures: Failure[] = [];
    const statuses = new Map<number, number>();
    for (let index = 0; index < REQUESTS; index++) {
      const { method, path, body } = randomRequest();
      const headers: Record<string, string> = {};
      const auth = int(20);
      if (auth > 1) headers.Authorization = `Bearer ${TOKEN}`;
      else if (auth === 1) headers.Authorization = `Bearer ${encode(randomString())}`;
      if (chance(0.7))
        headers['Content-Type'] = pick([
          'application/json',
          'text/plain',
          'application/x-www-form-urlencoded',
        ]);
      logged.length = 0;
      const response = await app.request(path, { method, headers, body });
      const text = await response.text();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      const request = `${method} ${path.slice(0, 300)} ${body === undefined ? '' : body.slice(0, 300)}`;
      let shapeOk = true;
      // The dashboard answers with HTML pages and redirects; the one JSON shape is the API's.
      const dashboardPage = !(response.headers.get('Content-Type') ?? '').startsWith('application/json');
      if (method !== 'HEAD' && !(path.startsWith('/dashboard') && dashboardPage)) {
        try {
          const json = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
          if (response.status >= 400) {
            shapeOk = typeof json.error?.code === 'string' && typeof json.error.message === 'string';
          } else if (response.status === 201 && Array.isArray(json)) {
            existingIds.push(...(json as Array<{ id: string }>).map((task) => task.id).slice(0, 3));
          } else if (typeof (json as { nextCursor?: unknown }).nextCursor === 'string') {
            cursors.push((json as { nextCursor: string }).nextCursor);
          }
        } catch {
          shapeOk = false;
        }
      }
      if (response.status >= 500 || !shapeOk) {
        failures.push({
          index,
          request,
          status: response.status,
          response: text.slice(0, 300),
          logged: logged.map((e) => (e instanceof Error ? (e.stack ?? e.message).slice(0, 600) : String(e))),
        });
      }
    }
    console.log(`HTTP fuzz statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    expect(failures, `seed ${SEED}: ${JSON.stringify(failures.slice(0, 5), null, 1)}`).toEqual([]);
  });
});

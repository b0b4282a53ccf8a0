/**
 * 400 random bodies for `POST /tasks/redrive` and query strings for `GET /failures` (wrong
 * types, NUL and lone surrogates, far dates, huge limits, unknown keys) against a real
 * Postgres: none may produce a 5xx, and every error has the API's one shape. Seeded:
 * `HTTP_FUZZ_SEED=<seed>` replays a run.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { createApp } from '../src/http/index.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('http_redrive_fuzz');
const TOKEN = 'redrive-fuzz-token';
const REQUESTS = 400;
const SEED = Number(process.env.HTTP_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));

let state = SEED >>> 0;
/** mulberry32, as in http-fuzz.test.ts. */
function rng(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let x = state;
  x = Math.imul(x ^ (x >>> 15), x | 1);
  x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;

const KEYS = ['name', 'queue', 'errorType', 'from', 'to', 'limit', 'dryRun', 'status', '__proto__'];
const VALUES: readonly unknown[] = [
  null,
  true,
  '',
  'test.noop',
  'default',
  'TypeError',
  'a\u0000b',
  '\ud800',
  'x'.repeat(300),
  "' or 1=1 --",
  '2025-01-01T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '+275760-09-13T00:00:00.000Z',
  '9999-12-31T23:59:59.999Z',
  '2025-02-30',
  0,
  -1,
  1.5,
  100_000,
  100_001,
  1e308,
  [],
  {},
  ['default'],
];

function randomObject(): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (let n = Math.floor(rng() * 4); n > 0; n--) body[pick(KEYS)] = pick(VALUES);
  // Mostly a dry run, so the table is not drained by the first lucky request.
  if (rng() < 0.8) body.dryRun = true;
  return body;
}

/** Percent-encodes; a lone surrogate (which encodeURIComponent refuses) as its UTF-8 bytes. */
function encode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80';
  }
}

function randomRequest(): { method: string; path: string; body?: string } {
  if (rng() < 0.5) {
    const body = rng() < 0.9 ? JSON.stringify(randomObject()) : pick(['', '[]', 'null', '{', '"x"', '1']);
    return { method: 'POST', path: '/tasks/redrive', body };
  }
  const query = Object.entries(randomObject())
    .map(([key, value]) => `${key}=${encode(typeof value === 'string' ? value : JSON.stringify(value))}`)
    .join('&');
  return { method: 'GET', path: `/failures?${query}${rng() < 0.1 ? '&from=%ED%A0%80' : ''}` };
}

let app: Hono;
const logged: unknown[] = [];
beforeAll(async () => {
  app = createApp({
    database: t.db,
    schema: t.schema,
    apiToken: TOKEN,
    onError: (error) => logged.push(error),
  });
  await t.db.query(
    `insert into ${t.schema}.tasks (id, name, status, error, error_type, finished_at)
     select lpad(i::text, 22, '0'), 'test.noop', 'FAILED', 'boom', 'TypeError', now()
     from generate_series(1, 50) as i`,
  );
});

describe('dead-letter routes fuzz', () => {
  it(`answers ${REQUESTS} random requests without a 5xx, errors always in the one shape`, async () => {
    console.log(`redrive fuzz seed: ${SEED} (replay with HTTP_FUZZ_SEED=${SEED})`);
    const failures: unknown[] = [];
    for (let index = 0; index < REQUESTS; index++) {
      const { method, path, body } = randomRequest();
      const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
      logged.length = 0;
      const response = await app.request(path, { method, headers, body });
      const text = await response.text();
      let shapeOk: boolean;
      try {
        const json = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
        shapeOk =
          response.status < 400 ||
          (typeof json.error?.code === 'string' && typeof json.error.message === 'string');
      } catch {
        shapeOk = false;
      }
      if (response.status >= 500 || !shapeOk) {
        failures.push({
          index,
          request: `${method} ${path} ${body ?? ''}`,
          status: response.status,
          text,
          logged,
        });
      }
    }
    expect(failures, `seed ${SEED}: ${JSON.stringify(failures.slice(0, 3), null, 1)}`).toEqual([]);
  });
});

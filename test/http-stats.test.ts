/**
 * `GET /stats` against a real Postgres: counts per queue and status, totals, throughput.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { createApp, type StatsJson } from '../src/http/index.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('http_stats');

let app: Hono;
beforeAll(() => {
  app = createApp({ database: t.db, schema: t.schema, apiToken: false });
});

async function stats(): Promise<StatsJson> {
  const response = await app.request('/stats');
  expect(response.status).toBe(200);
  return (await response.json()) as StatsJson;
}

/** Inserts `count` tasks straight into the table, finished `finishedAgo` ago when given. */
async function insert(queue: string, status: string, count: number, finishedAgo?: string): Promise<void> {
  await t.db.query(
    `insert into ${t.schema}.tasks (id, name, queue, status, worker_id, lease_until, finished_at)
     select md5(random()::text || g)::text, 'app.tasks.stats', $1, $2,
            case when $2 = 'PROGRESS' then 'w1' end,
            case when $2 = 'PROGRESS' then now() + interval '1 minute' end,
            case when $3::interval is not null then now() - $3::interval end
     from generate_series(1, $4) g`,
    [queue, status, finishedAgo ?? null, count],
  );
}

describe('GET /stats', () => {
  it('answers zeros on an empty table', async () => {
    expect(await stats()).toEqual({
      counts: {},
      totals: { PENDING: 0, PROGRESS: 0, COMPLETED: 0, FAILED: 0, CANCELLED: 0 },
      throughput: {
        completedLastMinute: 0,
        failedLastMinute: 0,
        cancelledLastMinute: 0,
        completedLast5Minutes: 0,
        failedLast5Minutes: 0,
        cancelledLast5Minutes: 0,
        completedLastHour: 0,
        failedLastHour: 0,
        cancelledLastHour: 0,
      },
    });
  });

  it('counts what was inserted, per queue and in total, and recent finishes per window', async () => {
    await insert('emails', 'PENDING', 7);
    await insert('emails', 'PROGRESS', 2);
    await insert('emails', 'COMPLETED', 3, '10 seconds');
    await insert('emails', 'COMPLETED', 4, '3 minutes');
    await insert('emails', 'COMPLETED', 5, '2 hours');
    await insert('reports', 'FAILED', 2, '30 seconds');
    await insert('reports', 'FAILED', 1, '30 minutes');
    await insert('reports', 'CANCELLED', 6, '4 minutes');
    // A queue name is user input; this one must not end up on Object.prototype.
    await insert('__proto__', 'PENDING', 1);

    const body = await stats();
    expect(body.counts).toEqual({
      emails: { PENDING: 7, PROGRESS: 2, COMPLETED: 12, FAILED: 0, CANCELLED: 0 },
      reports: { PENDING: 0, PROGRESS: 0, COMPLETED: 0, FAILED: 3, CANCELLED: 6 },
      ['__proto__']: { PENDING: 1, PROGRESS: 0, COMPLETED: 0, FAILED: 0, CANCELLED: 0 },
    });
    expect(({} as Record<string, unknown>).PENDING).toBeUndefined();
    expect(body.totals).toEqual({ PENDING: 8, PROGRESS: 2, COMPLETED: 12, FAILED: 3, CANCELLED: 6 });
    expect(body.throughput).toEqual({
      completedLastMinute: 3,
      failedLastMinute: 2,
      cancelledLastMinute: 0,
      completedLast5Minutes: 7,
      failedLast5Minutes: 2,
      cancelledLast5Minutes: 6,
      completedLastHour: 7,
      failedLastHour: 3,
      cancelledLastHour: 6,
    });
  });
});

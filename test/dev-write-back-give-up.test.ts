/**
 * Why `npm start` once hung forever after Ctrl-C: the Postgres under the worker was gone, the
 * completer kept retrying its write-back every 5 s after shutdown had given up waiting for it
 * and closed the pool, and that retry timer kept the process alive. Once `drain` gives up, the
 * completer stops retrying (the task comes back when its lease expires). The database here is
 * a real node-postgres pool whose server is really unreachable.
 */
import { describe, expect, it } from 'vitest';
import { createPgDatabase } from '../src/adapters/node/pg-database.ts';
import { DEFAULT_RETRY_BACKOFF } from '../src/core/retry-policy.ts';
import { workerStatements } from '../src/core/sql/worker-statements.ts';
import { Completer } from '../worker/container/completer.ts';
import { freePort } from './support/services.ts';

describe('write-back at shutdown, with the database gone', () => {
  it('drain gives up after its deadline and the completer stops retrying', async () => {
    // A port nothing listens on: every connection attempt is refused.
    const db = createPgDatabase({
      connectionString: `postgres://nobody:x@127.0.0.1:${await freePort()}/none`,
      max: 1,
    });
    const errors: string[] = [];
    const completer = new Completer({
      db,
      sql: workerStatements('task_worker'),
      workerId: 'test-worker',
      backoff: DEFAULT_RETRY_BACKOFF,
      onLanded: () => undefined,
      onError: (error) => errors.push(String(error)),
    });
    completer.add({
      kind: 'complete',
      id: 'a'.repeat(22),
      attempt: 1,
      token: 'none',
      name: 'app.tasks.x',
      json: '1',
      duration: 0.1,
    });
    const dropped = await completer.drain(400);
    await db.close();
    const afterDrain = errors.length;
    // Retries came every 100, 200, 400, 800 ms, ... before: none may come now.
    await new Promise((resolve) => setTimeout(resolve, 1700));
    expect(errors.slice(afterDrain)).toEqual([]);
    expect(errors.at(-1)).toMatch(/gave up writing back 1 result/);
    expect(dropped).toBe(1);
  });
});

/**
 * `task-worker status` as a terminal user runs it (a real process, real Postgres): queues with
 * their counts and the oldest due task's wait, the failure rate of the last hour, the tasks each
 * worker runs, the maintenance leader; `--json` for scripts; `--watch` until Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { createMaintainer } from '../worker/maintenance/maintainer.ts';
import { useTestSchema } from './support/test-schema.ts';
import { waitFor } from './support/wait-for.ts';

const t = useTestSchema('status');

function status(args: string[]) {
  const child = spawn(process.execPath, ['bin/task-worker.js', 'status', '--schema', t.schema, ...args], {
    env: { ...process.env, DATABASE_URL: t.databaseUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return { child, output: () => out };
}

async function run(args: string[]): Promise<{ code: number | null; out: string }> {
  const { child, output } = status(args);
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out: output() };
}

describe('task-worker status', () => {
  it('prints queues, the oldest wait, the failure rate, running tasks per worker and the leader', async () => {
    const client = createTaskClient({ database: t.db, schema: t.schema });
    await client.createTasks([
      { name: 'test.noop', queue: 'mail' },
      { name: 'test.noop', queue: 'mail' },
      { name: 'test.noop', queue: 'mail', delay: 3600 },
      { name: 'test.noop', queue: 'images' },
      { name: 'test.noop', queue: 'images' },
    ]);
    // One image task ran and failed, one is running on worker w-1; the mail tasks wait 2 min.
    await t.db.query(
      `update ${t.schema}.tasks set created_at = now() - interval '2 minutes', run_at = now() - interval '2 minutes'
       where queue = 'mail' and run_at <= now()`,
    );
    const images = (await t.db.query(`select id from ${t.schema}.tasks where queue = 'images' order by id`))
      .rows;
    await t.db.query(
      `update ${t.schema}.tasks set status = 'FAILED', finished_at = now(), worker_id = 'w-1' where id = $1`,
      [images[0]!.id],
    );
    await t.db.query(
      `update ${t.schema}.tasks set status = 'PROGRESS', worker_id = 'w-1', attempt = 1,
         lease_until = now() + interval '30 seconds' where id = $1`,
      [images[1]!.id],
    );
    await createMaintainer({ db: t.db, schema: t.schema, holder: 'leader-7' }).tick();

    const { code, out } = await run([]);
    expect(code, out).toBe(0);
    const mail = out.split('\n').find((line) => line.startsWith('mail'))!;
    // pending 3, due 2, oldest due ~2 min, running 0, failed 0, completed 0, no rate.
    expect(mail.split(/\s{2,}/)).toEqual(['mail', '3', '2', '2 min', '0', '0', '0', '-']);
    const imageLine = out.split('\n').find((line) => line.startsWith('images'))!;
    expect(imageLine.split(/\s{2,}/)).toEqual(['images', '0', '0', '-', '1', '1', '0', '100.0%']);
    expect(out).toMatch(/^w-1\s+1$/m);
    expect(out).toMatch(/maintenance leader: leader-7 \(lease \d+ s left\)/);

    const json = await run(['--json']);
    expect(JSON.parse(json.out)).toMatchObject({
      queues: expect.arrayContaining([expect.objectContaining({ queue: 'mail', pending: 3, due: 2 })]),
      workers: [{ workerId: 'w-1', running: 1 }],
      leader: { holder: 'leader-7', current: true },
    });
  });

  it('--watch refreshes until Ctrl-C, then exits 0; a bad interval is refused', async () => {
    const { child, output } = status(['--watch', '0.3']);
    await waitFor(() => (output().match(/maintenance leader/g) ?? []).length >= 2, { what: 'two refreshes' });
    child.kill('SIGINT');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    const bad = await run(['--watch', 'soon']);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/--watch takes seconds/);
  });
});

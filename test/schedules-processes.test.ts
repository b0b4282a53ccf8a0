/**
 * Exactly one task per fire time, with real processes: three `task-worker run` processes that
 * declare an every-second schedule (test/fixtures/scheduled-tasks.ts), plus the Cloudflare cron
 * executor's run (over the local Neon endpoint) every 300 ms, all taking part in the one
 * election. The elected worker is killed with SIGKILL halfway; the schedule makes up missed
 * seconds (`misfire: 'all'`), so every second of the window has exactly one task. And a worker
 * that comes back after its executors were down for five minutes applies the misfire policy.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createScheduleClient } from '../src/core/service/schedule-client.ts';
import { runScheduledOnce } from '../worker/cron/scheduled-run.ts';
import { startNeonEndpoint, type NeonEndpoint } from '../worker/dev/neon-endpoint.ts';
import tasks from './fixtures/tasks.ts';
import { useTestSchema } from './support/test-schema.ts';
import { waitFor } from './support/wait-for.ts';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.ts';

const t = useTestSchema('sched_proc');
const running: WorkerProcess[] = [];
let endpoint: NeonEndpoint | undefined;
afterAll(async () => {
  for (const worker of running) worker.child.kill('SIGKILL');
  await endpoint?.close();
});

const args = ['--tasks', 'test/fixtures/scheduled-tasks.ts', '--lease', '2', '--queues', 'scheduled'];

function start(): WorkerProcess {
  const worker = startWorkerProcess({ databaseUrl: t.databaseUrl, schema: t.schema, args });
  running.push(worker);
  return worker;
}

describe('an every-second schedule across three workers and the cron executor', () => {
  it('creates exactly one task per fire time, through a kill -9 of the leader', async () => {
    endpoint = await startNeonEndpoint({ databaseUrl: t.databaseUrl, authToken: 'sched-proc-token' });
    const env = {
      DATABASE_URL: t.databaseUrl,
      NEON_FETCH_ENDPOINT: endpoint.url,
      NEON_AUTH_TOKEN: endpoint.authToken,
      TASK_WORKER_SCHEMA: t.schema,
    };
    const workers = [start(), start(), start()];
    await Promise.all(workers.map((worker) => worker.waitFor('worker_started')));
    let cronRuns = 0;
    let stop = false;
    const cron = (async () => {
      while (!stop) {
        const report = await runScheduledOnce(env, {
          tasks,
          queues: ['scheduled'],
          budgetMs: 2000,
          hintMaxAgeMs: 60_000,
        });
        cronRuns++;
        expect(report.skipped).toBe(false); // no Upstash bound: every run asks
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    })();

    await new Promise((resolve) => setTimeout(resolve, 8000));
    const holder = async () =>
      (await t.db.query(`select holder from ${t.schema}.maintainer`)).rows[0]?.holder as string;
    const leaderId = await holder();
    const leader = workers.find((worker) => worker.events.some((line) => line.workerId === leaderId));
    if (leader) {
      leader.child.kill('SIGKILL');
      await leader.exited;
    }
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    stop = true;
    await cron;
    for (const worker of workers) if (worker !== leader) worker.child.kill('SIGTERM');
    await Promise.all(workers.map((worker) => worker.exited));

    const { rows } = await t.db.query<{ fire: Date; n: string }>(
      `select schedule_fire_at as fire, count(*) as n from ${t.schema}.tasks
       where schedule_name = 'every-second' group by 1 order by 1`,
    );
    expect(rows.every((row) => Number(row.n) === 1)).toBe(true);
    const seconds = rows.map((row) => new Date(row.fire).getTime() / 1000);
    // Every second from the first fire to the last has its task: made up after the kill.
    expect(seconds.length).toBeGreaterThanOrEqual(17);
    expect(seconds.at(-1)! - seconds[0]! + 1).toBe(seconds.length);
    // The cron executor ran beside them all along (who fired is the election's choice).
    expect(cronRuns).toBeGreaterThan(10);
  }, 60_000);
});

describe('misfire after an outage', () => {
  it('a worker back after five minutes runs the last missed fire (misfire: last), once', async () => {
    await t.db.query(`delete from ${t.schema}.tasks`);
    const schedules = createScheduleClient(t.db, t.schema);
    await schedules.create('minutely-last', {
      cron: '* * * * *',
      task: 'test.noop',
      options: { queue: 'scheduled' },
      misfire: 'last',
      misfireGraceSeconds: 5,
    });
    await schedules.create('minutely-skip', {
      cron: '* * * * *',
      task: 'test.noop',
      options: { queue: 'scheduled' },
      misfire: 'skip',
      misfireGraceSeconds: 5,
    });
    // Everything was down for five minutes: the next fire time is five minutes old.
    await t.db.query(
      `update ${t.schema}.schedules set next_fire_at = date_trunc('minute', now()) - interval '5 minutes'
       where name like 'minutely-%'`,
    );
    const worker = start();
    try {
      await waitFor(async () => (await schedules.get('minutely-last'))!.firedCount >= 1, {
        what: 'the last missed fire',
      });
      await waitFor(async () => (await schedules.get('minutely-skip'))!.skippedCount >= 5, {
        what: 'the skipped fires',
      });
      const last = (await schedules.get('minutely-last'))!;
      const skip = (await schedules.get('minutely-skip'))!;
      // Six fire times were due (five missed minutes and this one): 'last' ran one of them,
      // the latest; 'skip' ran only one that was on time (within 5 s), if any.
      expect(last.firedCount).toBe(1);
      expect(last.skippedCount).toBe(5);
      expect(skip.firedCount + skip.skippedCount).toBe(6);
      expect(skip.firedCount).toBeLessThanOrEqual(1);
      const { rows } = await t.db.query(
        `select schedule_fire_at as fire from ${t.schema}.tasks where schedule_name = 'minutely-last'`,
      );
      expect(new Date(rows[0]!.fire as Date).getTime()).toBe(last.lastFireAt!.getTime());
      expect(last.nextFireAt!.getTime()).toBeGreaterThan(last.lastFireAt!.getTime());
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  }, 40_000);
});

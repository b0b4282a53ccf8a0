/**
 * Recurring schedules: fire times come from croner in the schedule's time zone (DST checked on
 * fixed clocks); the misfire policy decides what an executor that was away makes up; the
 * maintainer fires each due schedule once per fire time, and the database refuses a second
 * task for the same fire time whoever tries. Real Postgres.
 */
import { Cron } from 'croner';
import { beforeEach, describe, expect, it } from 'vitest';
import { firesToRun, fireTimesBetween, validateSchedule, defineSchedules } from '../src/core/schedule.ts';
import { createScheduleClient } from '../src/core/service/schedule-client.ts';
import { createMaintainer } from '../worker/maintenance/maintainer.ts';
import { TaskValidationError } from '../src/core/errors.ts';
import { useTestSchema } from './support/test-schema.ts';

const t = useTestSchema('schedules');

beforeEach(async () => {
  await t.db.query(`delete from ${t.schema}.tasks`);
  await t.db.query(`delete from ${t.schema}.schedules`);
  await t.db.query(`delete from ${t.schema}.maintainer`);
});

describe('fire times', () => {
  it('follow the time zone across a DST change, as croner computes them', () => {
    // New York springs forward on 2026-03-08 (02:00 -> 03:00) and falls back on 2026-11-01.
    const cron = '30 2 * * *';
    const zone = 'America/New_York';
    const spring = fireTimesBetween(
      cron,
      zone,
      new Date('2026-03-06T12:00:00Z'),
      new Date('2026-03-10T12:00:00Z'),
      100,
    );
    const reference = new Cron(cron, { timezone: zone, paused: true });
    const expected: string[] = [];
    for (
      let next = reference.nextRun(new Date('2026-03-06T12:00:00Z'));
      next && next <= new Date('2026-03-10T12:00:00Z');
      next = reference.nextRun(next)
    ) {
      expected.push(next.toISOString());
    }
    expect(spring.times.map((d) => d.toISOString())).toEqual(expected);
    // 02:30 EST is 07:30Z; the day 02:30 does not exist it fires once (croner: at 03:00 EDT);
    // after the change 02:30 EDT is 06:30Z. Never twice on one local day.
    expect(spring.times.map((d) => d.toISOString())).toEqual([
      '2026-03-07T07:30:00.000Z',
      '2026-03-08T07:00:00.000Z',
      '2026-03-09T06:30:00.000Z',
      '2026-03-10T06:30:00.000Z',
    ]);
    // Fall back: 01:30 happens twice on 2026-11-01; a daily schedule fires once that day.
    const fall = fireTimesBetween(
      '30 1 * * *',
      zone,
      new Date('2026-10-31T12:00:00Z'),
      new Date('2026-11-02T12:00:00Z'),
      100,
    );
    expect(fall.times).toHaveLength(2);
  });

  it('reads 6-field expressions with seconds', () => {
    const { times } = fireTimesBetween(
      '*/2 * * * * *',
      'UTC',
      new Date('2026-01-01T00:00:00Z'),
      new Date('2026-01-01T00:00:10Z'),
      100,
    );
    expect(times.map((d) => d.getUTCSeconds())).toEqual([2, 4, 6, 8, 10]);
  });

  it('applies the misfire policy to fire times missed for 5 minutes', () => {
    const base = { cron: '* * * * *', timezone: 'UTC', misfireLimit: 3, misfireGraceSeconds: 60 };
    const after = new Date('2026-01-01T00:00:30Z'); // last handled fire: 00:00
    const now = new Date('2026-01-01T00:05:30Z'); // back after 5 minutes: fires 00:01 .. 00:05 due
    const skip = firesToRun({ ...base, misfire: 'skip' }, after, now);
    expect(skip.run.map((d) => d.toISOString())).toEqual(['2026-01-01T00:05:00.000Z']); // on time
    expect(skip.skipped).toBe(4);
    const last = firesToRun({ ...base, misfire: 'last' }, after, now);
    expect(last.run.map((d) => d.toISOString())).toEqual(['2026-01-01T00:05:00.000Z']);
    const all = firesToRun({ ...base, misfire: 'all' }, after, now);
    expect(all.run.map((d) => d.getUTCMinutes())).toEqual([3, 4, 5]);
    expect(all.skipped).toBe(2);
    // Late beyond the grace: skip runs nothing, last still runs the latest.
    const later = new Date('2026-01-01T00:07:30Z');
    expect(firesToRun({ ...base, misfire: 'skip', cron: '0 * * * *' }, after, later).run).toEqual([]);
    expect(firesToRun({ ...base, misfire: 'last', cron: '0 * * * *' }, after, later).run).toEqual([]);
  });

  it('refuses a bad expression, time zone, name or task with INVALID_SCHEDULE or the task code', () => {
    const ok = { cron: '0 3 * * *', task: 'app.report' };
    expect(() => validateSchedule('nightly', { ...ok, cron: '0 3 * *' })).toThrow(/5 or 6 fields/);
    expect(() => validateSchedule('nightly', { ...ok, cron: '0 99 * * *' })).toThrow(TaskValidationError);
    expect(() => validateSchedule('nightly', { ...ok, timezone: 'Mars/Olympus' })).toThrow(
      /Unknown time zone/,
    );
    expect(() => validateSchedule('has space', ok)).toThrow(/schedule name/);
    expect(() => validateSchedule('nightly', { ...ok, task: '' })).toThrow(
      expect.objectContaining({ code: 'INVALID_NAME' }),
    );
    expect(() => validateSchedule('nightly', { ...ok, misfire: 'sometimes' as never })).toThrow(/misfire/);
    expect(() => defineSchedules({ nightly: ok, bad: { ...ok, cron: 'nope' } })).toThrow(TaskValidationError);
  });
});

describe('the schedule client', () => {
  const schedules = () => createScheduleClient(t.db, t.schema);

  it('creates, lists with the next fire time, updates, pauses, resumes and deletes', async () => {
    const created = await schedules().create('every-minute', {
      cron: '* * * * *',
      task: 'test.noop',
      options: { queue: 'sched' },
    });
    expect(created).toMatchObject({
      name: 'every-minute',
      source: 'api',
      paused: false,
      options: { queue: 'sched' },
    });
    expect(created.nextFireAt!.getTime()).toBeGreaterThan(Date.now());
    expect(created.nextFireAt!.getTime() - Date.now()).toBeLessThanOrEqual(60_000);
    await expect(
      schedules().create('every-minute', { cron: '* * * * *', task: 'test.noop' }),
    ).rejects.toMatchObject({
      code: 'SCHEDULE_EXISTS',
    });
    expect((await schedules().list()).map((s) => s.name)).toEqual(['every-minute']);

    const updated = await schedules().update('every-minute', {
      cron: '0 3 * * *',
      timezone: 'Europe/Berlin',
      task: 'test.noop',
    });
    expect(updated).toMatchObject({ cron: '0 3 * * *', timezone: 'Europe/Berlin' });
    expect(updated.nextFireAt!.getTime()).toBeGreaterThan(created.nextFireAt!.getTime());

    expect((await schedules().pause('every-minute')).paused).toBe(true);
    expect((await schedules().update('every-minute', { cron: '0 4 * * *', task: 'test.noop' })).paused).toBe(
      true,
    );
    expect((await schedules().resume('every-minute')).paused).toBe(false);
    await schedules().delete('every-minute');
    expect(await schedules().get('every-minute')).toBeNull();
    await expect(schedules().delete('every-minute')).rejects.toMatchObject({ code: 'SCHEDULE_NOT_FOUND' });
    await expect(schedules().pause('nope')).rejects.toMatchObject({ code: 'SCHEDULE_NOT_FOUND' });
  });

  it('sync upserts declared schedules as code, keeping a paused one paused', async () => {
    await schedules().sync({ report: { cron: '0 3 * * *', task: 'test.noop' } });
    await schedules().pause('report');
    const [synced] = await schedules().sync({ report: { cron: '0 4 * * *', task: 'test.noop', args: [1] } });
    expect(synced).toMatchObject({ source: 'code', paused: true, cron: '0 4 * * *', args: [1] });
  });
});

describe('firing', () => {
  /** Makes schedule `name` due: its next fire time `secondsAgo` in the past. */
  async function dueSince(name: string, secondsAgo: number): Promise<void> {
    await t.db.query(
      `update ${t.schema}.schedules set next_fire_at = date_trunc('minute', now()) - make_interval(secs => $2) where name = $1`,
      [name, secondsAgo],
    );
  }

  it('the leader creates one task per fire time and moves next_fire_at; a follower fires nothing', async () => {
    await createScheduleClient(t.db, t.schema).create('minutely', {
      cron: '* * * * *',
      task: 'test.noop',
      misfire: 'all',
      options: { queue: 'sched' },
    });
    await dueSince('minutely', 120); // three fire times due
    const leader = createMaintainer({ db: t.db, schema: t.schema, holder: 'leader' });
    const follower = createMaintainer({ db: t.db, schema: t.schema, holder: 'follower' });
    const first = await leader.tick();
    expect(first.fired).toHaveLength(3);
    expect((await follower.tick()).fired).toEqual([]);
    const { rows } = await t.db.query(
      `select name, queue, schedule_name, schedule_fire_at from ${t.schema}.tasks order by schedule_fire_at`,
    );
    expect(rows).toHaveLength(3);
    expect(rows.every((row) => row.name === 'test.noop' && row.queue === 'sched')).toBe(true);
    const after = await createScheduleClient(t.db, t.schema).get('minutely');
    expect(after!.nextFireAt!.getTime()).toBeGreaterThan(Date.now());
    expect(after).toMatchObject({ firedCount: 3, lastTaskStatus: 'PENDING' });
    // The plan now wakes for the next fire time.
    const again = await leader.tick();
    expect(again.fired).toEqual([]);
    expect(again.plan.nextScheduleAt).toBe(after!.nextFireAt!.getTime());
  });

  it('the database refuses a second task for the same fire time', async () => {
    await createScheduleClient(t.db, t.schema).create('once', { cron: '* * * * *', task: 'test.noop' });
    await dueSince('once', 0);
    await createMaintainer({ db: t.db, schema: t.schema, holder: 'leader' }).tick();
    const { rows } = await t.db.query(
      `select schedule_fire_at from ${t.schema}.tasks where schedule_name = 'once'`,
    );
    expect(rows).toHaveLength(1);
    await expect(
      t.db.query(
        `insert into ${t.schema}.tasks (id, name, schedule_name, schedule_fire_at) values ('dup-of-a-fire-000000000', 'test.noop', 'once', $1)`,
        [rows[0]!.schedule_fire_at],
      ),
    ).rejects.toMatchObject({ code: '23505' });
  });

  it('skips a fire while the previous task is unfinished when asked to', async () => {
    const client = createScheduleClient(t.db, t.schema);
    await client.create('serial', { cron: '* * * * *', task: 'test.noop', skipIfUnfinished: true });
    const leader = createMaintainer({ db: t.db, schema: t.schema, holder: 'leader' });
    await dueSince('serial', 0);
    expect((await leader.tick()).fired).toHaveLength(1);
    await dueSince('serial', 0); // the next fire, while the first task is still PENDING
    expect((await leader.tick()).fired).toHaveLength(0);
    expect(await client.get('serial')).toMatchObject({ firedCount: 1, skippedCount: 1 });
  });

  it('a paused schedule does not fire', async () => {
    const client = createScheduleClient(t.db, t.schema);
    await client.create('paused', { cron: '* * * * *', task: 'test.noop', paused: true });
    await dueSince('paused', 0);
    expect((await createMaintainer({ db: t.db, schema: t.schema, holder: 'leader' }).tick()).fired).toEqual(
      [],
    );
  });
});

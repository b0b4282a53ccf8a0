/**
 * Task events: their JSON, the channels they go to (a waiter hears only its task, workers
 * their queue, schemas never mix), parsing that ignores noise, and publishing that never
 * fails its caller.
 */
import { describe, expect, it } from 'vitest';
import type { Notifier } from '../src/core/notifier.ts';
import { assertChannel } from '../src/core/events/channel-name.ts';
import { createMemoryNotifier } from '../src/adapters/edge/memory-notifier.ts';
import { NotifierError } from '../src/core/notifier-error.ts';
import {
  createTaskEvent,
  parseTaskEvent,
  publishTaskEvents,
  anyQueueChannel,
  queueChannel,
  TASK_EVENT_NAMES,
  taskChannel,
  taskCreatedEvents,
  taskEventChannels,
  type TaskEvent,
} from '../src/core/events/task-events.ts';
import { newTaskId } from '../src/core/task-id.ts';

const at = new Date('2026-01-02T03:04:05.678Z');

function task(queue = 'default') {
  return { id: newTaskId(), queue, name: 'app.tasks.multiply_numbers', attempt: 1 };
}

/** Subscribes and collects parsed events until `count` arrived (10 s at most). */
async function listen(notifier: Notifier, channel: string) {
  const events: Array<TaskEvent | null> = [];
  const unsubscribe = await notifier.subscribe(channel, (message) => events.push(parseTaskEvent(message)));
  return {
    events,
    unsubscribe,
    async until(count: number) {
      const deadline = Date.now() + 10_000;
      while (events.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${events.length} of ${count} events`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return events;
    },
  };
}

describe('task events', () => {
  it('serialize as one line of JSON with the status each event implies', () => {
    const t = task();
    const statuses = TASK_EVENT_NAMES.map((name) => createTaskEvent(name, t, at).status);
    expect(statuses).toEqual(['PENDING', 'PROGRESS', 'COMPLETED', 'FAILED', 'PENDING', 'CANCELLED']);
    const json = JSON.stringify(createTaskEvent('task_finished', t, at));
    expect(json).toBe(
      `{"event":"task_finished","taskId":"${t.id}","status":"COMPLETED","queue":"default",` +
        `"name":"app.tasks.multiply_numbers","attempt":1,"at":"2026-01-02T03:04:05.678Z"}`,
    );
    expect(createTaskEvent('task_created', { id: t.id, queue: 'q' }, at)).toEqual({
      event: 'task_created',
      taskId: t.id,
      status: 'PENDING',
      queue: 'q',
      at: at.toISOString(),
    });
  });

  it('round-trip through parseTaskEvent, which drops unknown fields', () => {
    const event = createTaskEvent('task_failed', task('emails'), at);
    expect(parseTaskEvent(JSON.stringify(event))).toEqual(event);
    expect(parseTaskEvent(JSON.stringify({ ...event, extra: 'from a newer version' }))).toEqual(event);
  });

  it('parse garbage as null', () => {
    const good = createTaskEvent('task_started', task(), at);
    const garbage = [
      '',
      'not json',
      '@@edge-task-worker/probe:123',
      'null',
      '[]',
      '42',
      '"task_started"',
      JSON.stringify({ ...good, event: 'task_exploded' }),
      JSON.stringify({ ...good, taskId: 'too-short' }),
      JSON.stringify({ ...good, status: 'DONE' }),
      JSON.stringify({ ...good, queue: 7 }),
      JSON.stringify({ ...good, queue: '' }),
      JSON.stringify({ ...good, at: 'yesterday' }),
      JSON.stringify({ ...good, name: 5 }),
      JSON.stringify({ ...good, attempt: -1 }),
      JSON.stringify({ ...good, attempt: 1.5 }),
      JSON.stringify({ event: good.event, taskId: good.taskId }),
    ];
    for (const message of garbage) expect(parseTaskEvent(message), message).toBeNull();
  });

  it('go to the task channel, and wake-ups to the queue channel', () => {
    const t = task('emails');
    const routes = Object.fromEntries(
      TASK_EVENT_NAMES.map((name) => [name, taskEventChannels('task_worker', createTaskEvent(name, t, at))]),
    );
    const onTask = `task_worker:task:${t.id}`;
    expect(routes).toEqual({
      task_created: ['task_worker:queue:emails', 'task_worker:queues'],
      task_started: [onTask],
      task_finished: [onTask],
      task_failed: [onTask],
      task_requeued: [onTask, 'task_worker:queue:emails', 'task_worker:queues'],
      // Not a wake-up: the queue channels tell the worker running the task to stop it.
      task_cancelled: [onTask, 'task_worker:queue:emails', 'task_worker:queues'],
    });
  });

  it('give every queue name a valid channel of its own', () => {
    const queues = [
      'default',
      'a b',
      'a_b',
      'a/b',
      'a?b',
      'a#b',
      '100%',
      'ünï',
      '🎉',
      'a~b',
      '~',
      'x'.repeat(100),
    ];
    const channels = queues.map((queue) => queueChannel('task_worker', queue));
    for (const channel of channels) expect(assertChannel(channel)).toBe(channel);
    expect(new Set(channels).size).toBe(queues.length);
    expect(queueChannel('task_worker', 'default')).toBe('task_worker:queue:default');
    expect(taskChannel('task_worker', 'x')).toBe('task_worker:task:x');
  });

  it('reach a waiter on its own task only, and workers on their queue only', async () => {
    const notifier = createMemoryNotifier();
    const [mine, other] = [task('emails'), task('emails')];
    const waiter = await listen(notifier, taskChannel('app', mine.id));
    const emails = await listen(notifier, queueChannel('app', 'emails'));
    const reports = await listen(notifier, queueChannel('app', 'reports'));
    const result = await publishTaskEvents(
      notifier,
      'app',
      [
        createTaskEvent('task_created', mine, at),
        createTaskEvent('task_created', other, at),
        createTaskEvent('task_started', other, at),
        createTaskEvent('task_finished', mine, at),
      ],
      { onError: () => expect.unreachable() },
    );
    // Two creations on one queue make one wake-up per wake channel (the queue's and the
    // any-queue one): a worker claims a batch per wake-up.
    expect(result).toEqual({ published: 4, failed: 0 });
    expect((await waiter.until(1)).map((e) => [e?.event, e?.taskId])).toEqual([['task_finished', mine.id]]);
    expect((await emails.until(1)).map((e) => [e?.event, e?.taskId])).toEqual([['task_created', mine.id]]);
    // Give any misrouted message time to show up: the memory notifier delivers in a microtask.
    await notifier.publish(queueChannel('app', 'reports'), 'sentinel');
    expect(await reports.until(1)).toEqual([null]);
    expect(waiter.events).toHaveLength(1);
    await notifier.close();
  });

  it('a bulk creation builds one task_created per queue, the first task of each', () => {
    const tasks = [task('emails'), task('reports'), task('emails'), task('reports'), task('default')];
    expect(taskCreatedEvents(tasks).map((e) => [e.event, e.queue, e.taskId])).toEqual([
      ['task_created', 'emails', tasks[0]!.id],
      ['task_created', 'reports', tasks[1]!.id],
      ['task_created', 'default', tasks[4]!.id],
    ]);
    expect(taskCreatedEvents([])).toEqual([]);
  });

  it('keep two schemas on one transport apart', async () => {
    const notifier = createMemoryNotifier();
    const t = task();
    const schemaA = await listen(notifier, queueChannel('schema_a', 'default'));
    const schemaB = await listen(notifier, queueChannel('schema_b', 'default'));
    await publishTaskEvents(notifier, 'schema_b', [createTaskEvent('task_created', t, at)]);
    expect((await schemaB.until(1)).map((e) => e?.taskId)).toEqual([t.id]);
    await notifier.publish(queueChannel('schema_a', 'default'), 'sentinel');
    expect(await schemaA.until(1)).toEqual([null]);
    await notifier.close();
  });

  it('never fail the caller when publishing fails, reporting each failure instead', async () => {
    const failing: Notifier = {
      publish: async (channel) => {
        throw new NotifierError('PUBLISH_FAILED', `down: ${channel}`, { channel });
      },
      subscribe: async () => async () => undefined,
      close: async () => undefined,
    };
    const throwing: Notifier = {
      ...failing,
      publish: () => {
        throw new Error('synchronous');
      },
    };
    const reported: Array<{ channel: string; error: unknown }> = [];
    const events = [
      createTaskEvent('task_requeued', task(), at),
      createTaskEvent('task_finished', task(), at),
    ];
    const result = await publishTaskEvents(failing, 'app', events, {
      onError: (error, { channel }) => reported.push({ channel, error }),
    });
    expect(result).toEqual({ published: 0, failed: 4 });
    expect(reported.map((r) => r.channel)).toEqual([
      taskChannel('app', events[0]!.taskId),
      queueChannel('app', 'default'),
      anyQueueChannel('app'),
      taskChannel('app', events[1]!.taskId),
    ]);
    await expect(
      publishTaskEvents(throwing, 'app', events, {
        onError: () => {
          throw new Error('the error handler fails too');
        },
      }),
    ).resolves.toEqual({ published: 0, failed: 4 });
  });
});

/**
 * Task events: the JSON messages published after a state change commits, and the channels
 * they go to. A notification is a hint; the database stays the truth.
 *
 * Channels, under a prefix that is the schema name (so two schemas on one Redis never mix):
 * - `<prefix>:task:<taskId>` — every event of one task after it was created. A waiter
 *   subscribes here only, so it never hears about other tasks.
 * - `<prefix>:queue:<queue>` — wake-ups for the workers of one queue: `task_created` and
 *   `task_requeued`, coalesced to one message per queue per {@link publishTaskEvents} call
 *   (a worker claims a batch per wake-up, it does not need one message per task).
 * - `<prefix>:queues` — the same wake-ups, for workers that serve every queue.
 *
 * `task_cancelled` also goes to the queue channels, one message per task (never coalesced): a
 * worker running the task hears of it on a channel it already listens to, and stops the run
 * (worker/container/cancelled-runs.ts). Other workers ignore it; it is not a wake-up.
 *
 * | event            | status      | task channel | queue channels  |
 * |------------------|-------------|--------------|-----------------|
 * | `task_created`   | `PENDING`   |              | yes (coalesced) |
 * | `task_started`   | `PROGRESS`  | yes          |                 |
 * | `task_finished`  | `COMPLETED` | yes          |                 |
 * | `task_failed`    | `FAILED`    | yes          |                 |
 * | `task_requeued`  | `PENDING`   | yes          | yes (coalesced) |
 * | `task_cancelled` | `CANCELLED` | yes          | yes (per task)  |
 * @module
 */
import type { Notifier } from '../notifier.ts';
import { isTaskId } from '../task-id.ts';
import { TASK_STATUSES, type Task, type TaskStatus } from '../task.ts';
import { warnNotifierError } from '../notifier-error.ts';

/** Every event name, in the order of a task's life. */
export const TASK_EVENT_NAMES = [
  'task_created',
  'task_started',
  'task_finished',
  'task_failed',
  'task_requeued',
  'task_cancelled',
] as const;

/** What happened to a task. */
export type TaskEventName = (typeof TASK_EVENT_NAMES)[number];

/** The status a task has right after each event. */
export const TASK_EVENT_STATUS: Readonly<Record<TaskEventName, TaskStatus>> = {
  task_created: 'PENDING',
  task_started: 'PROGRESS',
  task_finished: 'COMPLETED',
  task_failed: 'FAILED',
  task_requeued: 'PENDING',
  task_cancelled: 'CANCELLED',
};

/** One event, as published (JSON, one line). */
export interface TaskEvent {
  event: TaskEventName;
  taskId: string;
  status: TaskStatus;
  queue: string;
  /** The registered task name. */
  name?: string;
  /** The attempt (fencing token) the event belongs to. */
  attempt?: number;
  /** When the change committed, ISO 8601. */
  at: string;
}

/**
 * Builds the event for `task` with the status that `event` implies.
 * @param at when the change happened (default: now).
 */
export function createTaskEvent(
  event: TaskEventName,
  task: Pick<Task, 'id' | 'queue'> & Partial<Pick<Task, 'name' | 'attempt'>>,
  at: Date = new Date(),
): TaskEvent {
  // Spelled out so that the JSON keys keep this order, whichever fields are present.
  return {
    event,
    taskId: task.id,
    status: TASK_EVENT_STATUS[event],
    queue: task.queue,
    ...(task.name === undefined ? {} : { name: task.name }),
    ...(task.attempt === undefined ? {} : { attempt: task.attempt }),
    at: at.toISOString(),
  };
}

/**
 * The `task_created` events worth publishing for `tasks` created by one call: one per queue.
 * `task_created` goes only to the wake-up channels, where {@link publishTaskEvents} sends one
 * message per queue anyway, so a bulk insert need not build an event per task.
 */
export function taskCreatedEvents(
  tasks: readonly Pick<Task, 'id' | 'queue' | 'name' | 'attempt'>[],
): TaskEvent[] {
  const at = new Date();
  const byQueue = new Map<string, TaskEvent>();
  for (const task of tasks) {
    if (!byQueue.has(task.queue)) byQueue.set(task.queue, createTaskEvent('task_created', task, at));
  }
  return [...byQueue.values()];
}

/** The channel of one task's events: `<prefix>:task:<taskId>`. */
export function taskChannel(prefix: string, taskId: string): string {
  return `${prefix}:task:${taskId}`;
}

// Queue names may hold any character (spaces, `/`, `?`, emoji); channel names may not (see
// channel-name.ts). Plain names stay readable; any other is base64url-encoded behind a `~`,
// which plain names cannot contain, so two queues never share a channel.
const PLAIN_QUEUE = /^[A-Za-z0-9_.-]+$/;

/** The wake-up channel of one queue: `<prefix>:queue:<queue>`, other names encoded. */
export function queueChannel(prefix: string, queue: string): string {
  if (PLAIN_QUEUE.test(queue)) return `${prefix}:queue:${queue}`;
  let binary = '';
  for (const byte of new TextEncoder().encode(queue)) binary += String.fromCharCode(byte);
  const encoded = btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
  return `${prefix}:queue:~${encoded}`;
}

/**
 * The wake-up channel of workers that serve every queue: `<prefix>:queues`. Gets the same
 * coalesced wake-ups as the queue channels (queue names cannot contain `s` after `queue`
 * plus `:`, so it never collides with a queue channel).
 */
export function anyQueueChannel(prefix: string): string {
  return `${prefix}:queues`;
}

/** The channels an event is published on (see the table in the module notes). */
export function taskEventChannels(prefix: string, event: TaskEvent): string[] {
  switch (event.event) {
    case 'task_created':
      return [queueChannel(prefix, event.queue), anyQueueChannel(prefix)];
    case 'task_requeued':
    case 'task_cancelled':
      return [taskChannel(prefix, event.taskId), queueChannel(prefix, event.queue), anyQueueChannel(prefix)];
    default:
      return [taskChannel(prefix, event.taskId)];
  }
}

/** One message to publish: an event on one of its channels. */
export interface TaskEventMessage {
  channel: string;
  event: TaskEvent;
}

/**
 * The messages that announce `events`: each on its channels, with the wake-up channels (queue,
 * all queues) taking one wake-up per call however many events name them (`task_cancelled`, not
 * a wake-up, goes there once per task). An event whose channels cannot be built goes to
 * `onError` and is left out.
 */
export function taskEventMessages(
  prefix: string,
  events: readonly TaskEvent[],
  onError: (error: unknown, event: TaskEvent) => void,
): TaskEventMessage[] {
  const messages: TaskEventMessage[] = [];
  const wokenQueues = new Set<string>();
  for (const event of events) {
    try {
      for (const channel of taskEventChannels(prefix, event)) {
        const isWakeUp = event.event !== 'task_cancelled' && channel !== taskChannel(prefix, event.taskId);
        if (isWakeUp && wokenQueues.has(channel)) continue;
        if (isWakeUp) wokenQueues.add(channel);
        messages.push({ channel, event });
      }
    } catch (error) {
      onError(error, event);
    }
  }
  return messages;
}

/** `pg_notify` arguments as two parallel arrays (Postgres channels, JSON messages). */
export interface PostgresNotifications {
  channels: string[];
  messages: string[];
}

/**
 * The `task_created` wake-ups of `tasks` (one per queue) as `pg_notify` arguments, for a
 * notifier with {@link Notifier.postgresChannel}; `undefined` when one of them cannot be built
 * (the caller then publishes after the commit as usual, which reports the error).
 */
export function taskCreatedNotifications(
  notifier: Notifier,
  prefix: string,
  tasks: readonly Pick<Task, 'id' | 'queue' | 'name' | 'attempt'>[],
): PostgresNotifications | undefined {
  const toPostgres = notifier.postgresChannel?.bind(notifier);
  if (!toPostgres) return undefined;
  let broken = false;
  const found = taskEventMessages(prefix, taskCreatedEvents(tasks), () => (broken = true));
  if (broken) return undefined;
  try {
    return {
      channels: found.map(({ channel }) => toPostgres(channel)),
      messages: found.map(({ event }) => JSON.stringify(event)),
    };
  } catch {
    return undefined;
  }
}

/** Options of {@link publishTaskEvents}. */
export interface PublishTaskEventsOptions {
  /** Receives each failed publish; it never reaches the caller (default: `console.warn`). */
  onError?: (error: unknown, context: { channel: string; event: TaskEvent }) => void;
}

/** What {@link publishTaskEvents} did. */
export interface PublishTaskEventsResult {
  published: number;
  failed: number;
}

/**
 * Publishes `events` (after their changes committed) on their channels, concurrently. Never
 * throws and never rejects: a failed publish is passed to `onError` and counted, because
 * the caller's work is already done and durable, and waiters poll anyway.
 * @param prefix the schema name, e.g. `task_worker`.
 */
export async function publishTaskEvents(
  notifier: Notifier,
  prefix: string,
  events: readonly TaskEvent[],
  options: PublishTaskEventsOptions = {},
): Promise<PublishTaskEventsResult> {
  const onError = options.onError ?? ((error: unknown) => warnNotifierError(error));
  const report = (error: unknown, channel: string, event: TaskEvent) => {
    try {
      onError(error, { channel, event });
    } catch {
      // The caller's work is done; a broken error handler must not undo that.
    }
  };
  let failed = 0;
  const messages = taskEventMessages(prefix, events, (error, event) => {
    failed++;
    report(error, '', event);
  });
  const outcomes = await Promise.all(
    messages.map(async ({ channel, event }) => {
      try {
        await notifier.publish(channel, JSON.stringify(event));
        return true;
      } catch (error) {
        report(error, channel, event);
        return false;
      }
    }),
  );
  const published = outcomes.filter(Boolean).length;
  return { published, failed: failed + outcomes.length - published };
}

const EVENT_NAMES: ReadonlySet<string> = new Set(TASK_EVENT_NAMES);
const STATUSES: ReadonlySet<string> = new Set(TASK_STATUSES);

/**
 * Reads a message as a {@link TaskEvent}. Returns `null` for anything else (not JSON, a
 * probe, a missing or mistyped field, an unknown event), so a subscriber can ignore noise.
 * Unknown extra fields are dropped, for events from newer versions.
 */
export function parseTaskEvent(message: string): TaskEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const { event, taskId, status, queue, name, attempt, at } = value as Record<string, unknown>;
  if (typeof event !== 'string' || !EVENT_NAMES.has(event)) return null;
  if (!isTaskId(taskId)) return null;
  if (typeof status !== 'string' || !STATUSES.has(status)) return null;
  if (typeof queue !== 'string' || queue === '') return null;
  if (typeof at !== 'string' || Number.isNaN(Date.parse(at))) return null;
  if (name !== undefined && typeof name !== 'string') return null;
  if (attempt !== undefined && !(Number.isInteger(attempt) && (attempt as number) >= 0)) return null;
  const parsed: TaskEvent = {
    event: event as TaskEventName,
    taskId,
    status: status as TaskStatus,
    queue,
    at,
  };
  if (name !== undefined) parsed.name = name;
  if (attempt !== undefined) parsed.attempt = attempt as number;
  return parsed;
}

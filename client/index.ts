/**
 * `edge-task-worker/client`: create tasks and wait for them from anywhere, edge included, and
 * the edge-safe notifiers (Upstash REST, in-memory, none). Node-only ones are in
 * `edge-task-worker/node`.
 * @module
 */
export { createClient, type ClientOptions, type ClientEnv } from './create-client.ts';
export {
  createTaskClient,
  type TaskClient,
  type TaskClientConfig,
  type CreateTaskOptions,
  type TaskRequest,
  type WaitOptions,
} from '../src/core/service/task-client.ts';
export type { Task, TaskStatus } from '../src/core/task.ts';
export {
  createNeonHttpDatabase,
  type NeonHttpDatabaseOptions,
} from '../src/adapters/edge/neon-http-database.ts';
export type { Notifier, NotifierStatus, SubscribeOptions, Unsubscribe } from '../src/core/notifier.ts';
export {
  createUpstashNotifier,
  type UpstashConnection,
  type UpstashNotifierOptions,
} from '../src/adapters/edge/upstash-notifier.ts';
export { createMemoryNotifier, type MemoryNotifierOptions } from '../src/adapters/edge/memory-notifier.ts';
export { createNoneNotifier } from '../src/adapters/edge/none-notifier.ts';
export type { DueHint, DueHintReading } from '../src/core/due-hint.ts';
export { createUpstashDueHint, type UpstashDueHintOptions } from '../src/adapters/edge/upstash-due-hint.ts';
export type { CreateTaskWithResult } from '../src/core/service/create-task-in-transaction.ts';
export type { Schedule, ScheduleClient } from '../src/core/service/schedule-client.ts';
export type { ScheduleDefinition, MisfirePolicy } from '../src/core/schedule.ts';
export type {
  FailedTaskFilters,
  FailureReason,
  FailureReasonsOptions,
  RedriveFailedOptions,
  RedriveFailedResult,
} from '../src/core/service/redrive-failed.ts';

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
} from './task-client.ts';
export type { Task, TaskStatus } from '../src/task.ts';
export { createNeonHttpDatabase, type NeonHttpDatabaseOptions } from '../src/drivers/neon-http-database.ts';
export type { Notifier, NotifierStatus, SubscribeOptions, Unsubscribe } from '../src/notifier.ts';
export {
  createUpstashNotifier,
  type UpstashConnection,
  type UpstashNotifierOptions,
} from '../src/notifications/upstash-notifier.ts';
export { createMemoryNotifier, type MemoryNotifierOptions } from '../src/notifications/memory-notifier.ts';
export { createNoneNotifier } from '../src/notifications/none-notifier.ts';

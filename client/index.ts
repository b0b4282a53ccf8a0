/**
 * `edge-task-worker/client`: create tasks and wait for them from anywhere, edge included.
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

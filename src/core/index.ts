/**
 * `edge-task-worker`: the task model, task registries and errors. Edge-safe.
 * @module
 */
export {
  defineTasks,
  type TaskContext,
  type TaskHandler,
  type TaskRegistry,
  type TaskArgs,
  type TaskKwargs,
  type TaskResult,
} from './define-tasks.ts';
export {
  TaskWorkerError,
  TaskValidationError,
  InvalidTaskIdError,
  TaskNotFoundError,
  ScheduleNotFoundError,
  ConfigError,
  SchemaError,
  NonRetryableError,
  type ValidationCode,
} from './errors.ts';
export {
  TASK_STATUSES,
  FINAL_STATUSES,
  isFinalStatus,
  type Task,
  type TaskStatus,
  type JsonValue,
  type TaskAttemptError,
} from './task.ts';
export { TASK_LIMITS, type TaskOptions, type UniqueMode } from './validate-task.ts';
export { isTaskId } from './task-id.ts';
export { DatabaseError, type Database, type Query, type QueryResult, type Row } from './database.ts';
export {
  migrate,
  schemaVersion,
  LATEST_MIGRATION,
  type MigrateOptions,
  type MigrateResult,
} from './migrations/migrate.ts';
export { DEFAULT_SCHEMA } from './schema-name.ts';
export { sweepExpiredTasks, type SweepOptions, type SweptTask } from './execution/sweep.ts';
export { DEFAULT_RETRY_BACKOFF, retryDelayBounds, type RetryBackoff } from './retry-policy.ts';
export type { Notifier, NotifierStatus, SubscribeOptions, Unsubscribe } from './notifier.ts';
export { hintSaysIdle, type DueHint, type DueHintReading } from './due-hint.ts';
export {
  taskValidationErrorFromDatabase,
  TASK_VALIDATION_SQLSTATE,
} from './service/create-task-in-transaction.ts';
export { defineSchedules, type MisfirePolicy, type ScheduleDefinition } from './schedule.ts';
export type { Schedule, ScheduleClient } from './service/schedule-client.ts';

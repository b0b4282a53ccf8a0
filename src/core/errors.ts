/**
 * Typed errors. Every error has a stable `code` to branch on; messages name the offending
 * value and what to do about it.
 * @module
 */

/** Base class of every error this library throws on purpose. */
export class TaskWorkerError extends Error {
  override name = 'TaskWorkerError';
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Codes of {@link TaskValidationError}. */
export type ValidationCode =
  | 'INVALID_NAME'
  | 'INVALID_ARGS'
  | 'INVALID_KWARGS'
  | 'NOT_JSON'
  | 'PAYLOAD_TOO_LARGE'
  | 'INVALID_TIMEOUT'
  | 'INVALID_RUN_AT'
  | 'INVALID_DELAY'
  | 'INVALID_QUEUE'
  | 'INVALID_PRIORITY'
  | 'INVALID_MAX_RETRIES'
  | 'INVALID_UNIQUE_KEY'
  | 'INVALID_UNIQUE_MODE'
  | 'INVALID_UNIQUE_PERIOD'
  | 'INVALID_CONCURRENCY_KEY'
  | 'INVALID_QUEUE_LIMITS'
  | 'INVALID_OPTIONS'
  | 'INVALID_SCHEDULE'
  | 'INVALID_LIMIT'
  | 'INVALID_ERROR_TYPE'
  | 'INVALID_TIME_RANGE';

/** A task's input was refused before anything was written. `field` names the bad input. */
export class TaskValidationError extends TaskWorkerError {
  override name = 'TaskValidationError';
  declare readonly code: ValidationCode;
  /** The option at fault, with a path for nested values, e.g. `args[1].when`. */
  readonly field: string;
  constructor(code: ValidationCode, field: string, message: string) {
    super(code, message);
    this.field = field;
  }
}

/** A task id that is not one this library generates (22 URL-safe characters). */
export class InvalidTaskIdError extends TaskWorkerError {
  override name = 'InvalidTaskIdError';
  readonly id: unknown;
  constructor(id: unknown) {
    super(
      'INVALID_TASK_ID',
      `Invalid task id ${JSON.stringify(String(id)).slice(0, 80)}: expected 22 URL-safe characters.`,
    );
    this.id = id;
  }
}

/** No task has this id. */
export class TaskNotFoundError extends TaskWorkerError {
  override name = 'TaskNotFoundError';
  readonly id: string;
  constructor(id: string) {
    super('TASK_NOT_FOUND', `No task with id ${id}.`);
    this.id = id;
  }
}

/** Configuration that cannot work (missing URL, bad schema name, ...). */
export class ConfigError extends TaskWorkerError {
  override name = 'ConfigError';
  constructor(message: string) {
    super('CONFIG', message);
  }
}

/**
 * The database schema is older than this library version needs (`SCHEMA_TOO_OLD`: run the
 * migrations), has a breaking migration it does not know (`SCHEMA_TOO_NEW`: upgrade), or a
 * migration failed (`MIGRATION_FAILED`).
 */
export class SchemaError extends TaskWorkerError {
  override name = 'SchemaError';
  constructor(
    code: 'SCHEMA_TOO_OLD' | 'SCHEMA_TOO_NEW' | 'MIGRATION_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/**
 * Thrown by a handler to fail its task at once, without retries, whatever `maxRetries` says.
 */
export class NonRetryableError extends TaskWorkerError {
  override name = 'NonRetryableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('NON_RETRYABLE', message, options);
  }
}

/** A schedule name that no schedule has. */
export class ScheduleNotFoundError extends TaskWorkerError {
  override name = 'ScheduleNotFoundError';
  readonly scheduleName: string;
  constructor(name: string) {
    super('SCHEDULE_NOT_FOUND', `No schedule is named "${name}".`);
    this.scheduleName = name;
  }
}

/**
 * Validation of a `createTasks` batch: each entry is a task name plus its options, checked
 * like `createTask`'s, with an error naming the entry (`tasks[3].queue`).
 * @module
 */
import { TaskValidationError } from '../errors.ts';
import { validateTask, type TaskOptions, type ValidatedTask } from '../validate-task.ts';

/** Validates every entry of `tasks`, in order; throws {@link TaskValidationError} for the first bad one. */
export function validateTaskBatch(tasks: unknown, maxPayloadBytes: number): ValidatedTask[] {
  if (!Array.isArray(tasks)) {
    throw new TaskValidationError('INVALID_OPTIONS', 'tasks', 'createTasks expects an array of tasks.');
  }
  return (tasks as unknown[]).map((entry, index) => {
    try {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        throw new TaskValidationError(
          'INVALID_OPTIONS',
          'options',
          'each task must be an object with a name.',
        );
      }
      const { name, ...options } = entry as { name: unknown } & TaskOptions;
      return validateTask(name, options, maxPayloadBytes);
    } catch (error) {
      if (error instanceof TaskValidationError) {
        throw new TaskValidationError(
          error.code,
          `tasks[${index}].${error.field}`,
          `tasks[${index}]: ${error.message}`,
        );
      }
      throw error;
    }
  });
}

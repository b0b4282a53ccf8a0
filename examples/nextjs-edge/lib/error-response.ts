import { InvalidTaskIdError, TaskNotFoundError, TaskValidationError } from 'edge-task-worker';

/** The body of every error answer, the same shape as the edge-task-worker HTTP API's. */
export interface ErrorBody {
  error: {
    /** Stable, e.g. `INVALID_ARGS`, `TASK_NOT_FOUND`: branch on this, not on the message. */
    code: string;
    message: string;
    /** The input at fault, when there is one: `name`, `args`, `kwargs.when`, `id`, `timeout`. */
    field?: string;
  };
}

/** A JSON error answer: `{ error: { code, message, field? } }` with `status`. */
export function errorResponse(status: number, code: string, message: string, field?: string): Response {
  const body: ErrorBody = { error: { code, message } };
  if (field !== undefined) body.error.field = field;
  return Response.json(body, { status });
}

/**
 * Answers a thrown error: the library's typed input errors become 4xx with their code and
 * field; anything else (database down, `DATABASE_URL` missing, a bug) is logged and answered
 * with a bare 500, because its message can name hosts, schemas or SQL.
 */
export function responseForError(error: unknown): Response {
  if (error instanceof TaskValidationError) {
    // Same status as the HTTP API for the same code: too large is 413, not 400.
    const status = error.code === 'PAYLOAD_TOO_LARGE' ? 413 : 400;
    return errorResponse(status, error.code, error.message, error.field);
  }
  if (error instanceof InvalidTaskIdError) return errorResponse(400, error.code, error.message, 'id');
  if (error instanceof TaskNotFoundError) return errorResponse(404, error.code, error.message);
  console.error(error);
  return errorResponse(500, 'INTERNAL', 'Internal error');
}

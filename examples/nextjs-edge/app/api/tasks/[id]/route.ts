import { isFinalStatus, TaskNotFoundError } from 'edge-task-worker';
import { errorResponse, responseForError } from '../../../../lib/error-response.ts';
import { taskClient } from '../../../../lib/task-client.ts';

export const runtime = 'edge';

const DEFAULT_WAIT_SECONDS = 10;
// Edge functions must start their response within 25 s on Vercel; a longer wait would be
// cut off. A caller that gets `done: false` simply asks again.
const MAX_WAIT_SECONDS = 25;
const SECONDS = /^\d+(\.\d+)?$/;

/**
 * `GET /api/tasks/:id?timeout=10`: waits up to `timeout` seconds (default 10, at most 25) for
 * the task to finish, then answers `{ task, done }`; `done` is false when it is still running.
 */
export async function GET(request: Request, context: { params: Promise<{ id: string }> }): Promise<Response> {
  const { id } = await context.params;
  const raw = new URL(request.url).searchParams.get('timeout');
  if (raw !== null && raw !== '' && !SECONDS.test(raw)) {
    return errorResponse(
      400,
      'INVALID_TIMEOUT',
      `timeout must be a number of seconds, e.g. 10 or 0.5, got ${JSON.stringify(raw.slice(0, 50))}.`,
      'timeout',
    );
  }
  const timeout = Math.min(raw ? Number(raw) : DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS);
  try {
    const client = taskClient();
    // waitForCompletion throws InvalidTaskIdError (400) or TaskNotFoundError (404), and
    // resolves with null when the time is up: then answer with the task as it is now.
    const task = (await client.waitForCompletion(id, { timeout })) ?? (await client.getTask(id));
    if (!task) throw new TaskNotFoundError(id);
    return Response.json({ task, done: isFinalStatus(task.status) });
  } catch (error) {
    return responseForError(error);
  }
}

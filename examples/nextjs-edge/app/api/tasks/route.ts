import type { CreateTaskOptions } from 'edge-task-worker/client';
import { errorResponse, responseForError } from '../../../lib/error-response.ts';
import { taskClient } from '../../../lib/task-client.ts';

// Creating a task is one SQL-over-HTTP request to Neon (plus one REST publish when Upstash is
// configured): no TCP, no Node built-ins, so the route runs on the Edge Runtime.
export const runtime = 'edge';

/**
 * `POST /api/tasks` with `{ "name": ..., "args"?: [...], "kwargs"?: {...}, "timeout"?,
 * "queue"?, "priority"?, "delay"?, "runAt"?, "maxRetries"?, "uniqueKey"? }`:
 * 201 with the stored task; 400 naming the field at fault.
 */
export async function POST(request: Request): Promise<Response> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return errorResponse(400, 'INVALID_JSON', 'The request body must be JSON.', 'body');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return errorResponse(
      400,
      'INVALID_BODY',
      'The request body must be a task object: {"name": ..., "args": [...]}.',
      'body',
    );
  }
  const { name, ...options } = body as Record<string, unknown>;
  try {
    // No checks here on purpose: createTask validates the name and every option (unknown
    // options included) and throws a TaskValidationError naming the field, storing nothing.
    const task = await taskClient().createTask(name as string, options as CreateTaskOptions);
    const location = `${new URL(request.url).pathname}/${task.id}`;
    return Response.json(task, { status: 201, headers: { location } });
  } catch (error) {
    return responseForError(error);
  }
}

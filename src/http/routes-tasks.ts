/**
 * The task routes: create (one or many), read, wait, cancel and retry.
 * @module
 */
import type { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { CreateTaskOptions, TaskClient, TaskRequest } from '../core/service/task-client.ts';
import { TaskNotFoundError } from '../core/errors.ts';
import { assertTaskId } from '../core/task-id.ts';
import { isFinalStatus, type Task } from '../core/task.ts';
import { errorJson, HttpError } from './error-response.ts';
import { assertStorableJson, readJsonBody } from './json-body.ts';
import { taskToJson } from './task-json.ts';

/** What the task routes need. */
export interface TaskRoutesConfig {
  client: TaskClient;
  /** Longest wait a request may ask for, in seconds. */
  maxWaitSeconds: number;
  /** Largest `POST /tasks` body, in bytes. */
  maxBodyBytes: number;
}

/** `GET /tasks/:id/wait` without `timeout` waits this long (capped at `maxWaitSeconds`). */
const DEFAULT_WAIT_SECONDS = 30;
const SECONDS = /^\d+(\.\d+)?$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function waitSeconds(raw: string | undefined, max: number): number {
  if (raw === undefined || raw === '') return Math.min(DEFAULT_WAIT_SECONDS, max);
  const seconds = SECONDS.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(seconds)) {
    throw new HttpError(
      400,
      'INVALID_TIMEOUT',
      `timeout must be a number of seconds, e.g. 10 or 0.5, got ${JSON.stringify(raw.slice(0, 50))}.`,
      { field: 'timeout' },
    );
  }
  // Capped rather than refused: a caller asking for more than the server allows still gets a
  // useful answer, and `done: false` tells it to ask again.
  return Math.min(seconds, max);
}

async function createFromBody(client: TaskClient, body: unknown): Promise<Task | Task[]> {
  if (Array.isArray(body)) {
    assertStorableJson(body, 'tasks');
    body.forEach((entry, index) => {
      // createTasks assumes objects: a null entry would reach it as a TypeError, a 500.
      if (!isObject(entry)) {
        throw new HttpError(400, 'INVALID_BODY', `tasks[${index}] must be an object with a name.`, {
          field: `tasks[${index}]`,
        });
      }
    });
    return await client.createTasks(body as unknown as TaskRequest[]);
  }
  if (!isObject(body)) {
    throw new HttpError(
      400,
      'INVALID_BODY',
      'The request body must be a task object ({"name": ..., "args": [...]}) or an array of them.',
      { field: 'body' },
    );
  }
  assertStorableJson(body, '');
  const { name, ...options } = body;
  return await client.createTask(name as string, options as CreateTaskOptions);
}

/** Registers `POST /tasks` and the `/tasks/:id` routes on `app`. */
export function registerTaskRoutes(app: Hono, config: TaskRoutesConfig): void {
  const { client } = config;

  app.post(
    '/tasks',
    bodyLimit({
      maxSize: config.maxBodyBytes,
      onError: (c) =>
        errorJson(
          c,
          new HttpError(413, 'PAYLOAD_TOO_LARGE', `The request body is over ${config.maxBodyBytes} bytes.`, {
            field: 'body',
          }),
        ),
    }),
    async (c) => {
      const created = await createFromBody(client, await readJsonBody(c));
      if (Array.isArray(created)) return c.json(created.map(taskToJson), 201);
      return c.json(taskToJson(created), 201, { Location: `${c.req.path}/${created.id}` });
    },
  );

  app.get('/tasks/:id', async (c) => {
    const id = c.req.param('id');
    const task = await client.getTask(id);
    if (!task) throw new TaskNotFoundError(id);
    return c.json(taskToJson(task));
  });

  app.get('/tasks/:id/wait', async (c) => {
    const id = assertTaskId(c.req.param('id'));
    const timeout = waitSeconds(c.req.query('timeout'), config.maxWaitSeconds);
    const task = (await client.waitForCompletion(id, { timeout })) ?? (await client.getTask(id));
    if (!task) throw new TaskNotFoundError(id);
    return c.json({ task: taskToJson(task), done: isFinalStatus(task.status) });
  });

  app.post('/tasks/:id/cancel', async (c) => {
    const id = assertTaskId(c.req.param('id'));
    // Read first to tell "cancelled now" from "was already final": the client's cancelTask
    // returns the task either way. Two cancels racing on one task may both report `changed`.
    const before = await client.getTask(id);
    if (!before) throw new TaskNotFoundError(id);
    if (isFinalStatus(before.status)) return c.json({ task: taskToJson(before), changed: false });
    const task = await client.cancelTask(id);
    return c.json({ task: taskToJson(task), changed: task.status === 'CANCELLED' });
  });

  app.post('/tasks/:id/retry', async (c) => {
    // Through the client, so workers get a task_requeued wake-up.
    const task = await client.retryTask(c.req.param('id'));
    return c.json(taskToJson(task));
  });
}

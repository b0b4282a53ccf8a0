/**
 * The recurring schedule routes: list, create, read, replace, pause, resume and delete, all
 * through the client's `schedules` (src/core/service/schedule-client.ts). The elected
 * maintainer fires them; these routes only manage the definitions.
 * @module
 */
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ScheduleNotFoundError } from '../core/errors.ts';
import type { ScheduleDefinition } from '../core/schedule.ts';
import type { ScheduleClient } from '../core/service/schedule-client.ts';
import { errorJson, HttpError } from './error-response.ts';
import { assertStorableJson, readJsonBody } from './json-body.ts';
import { scheduleToJson } from './schedule-json.ts';

/** What the schedule routes need. */
export interface ScheduleRoutesConfig {
  schedules: ScheduleClient;
  /** Largest `POST /schedules` and `PUT /schedules/:name` body, in bytes. */
  maxBodyBytes: number;
}

/** The fields of a schedule a request may set (`name` aside). */
const DEFINITION_FIELDS: ReadonlySet<string> = new Set([
  'cron',
  'timezone',
  'task',
  'args',
  'kwargs',
  'options',
  'misfire',
  'misfireLimit',
  'misfireGraceSeconds',
  'skipIfUnfinished',
  'paused',
]);
const BOOLEAN_FIELDS = ['skipIfUnfinished', 'paused'] as const;
/** Longest schedule name (src/core/schedule.ts): a longer one names no schedule. */
const MAX_NAME_LENGTH = 128;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalidSchedule(field: string, message: string): HttpError {
  return new HttpError(400, 'INVALID_SCHEDULE', message, { field });
}

/**
 * The name and definition in a request body. Unknown fields (a typo, or the read-only
 * `nextFireAt` of a schedule sent back as read) are refused rather than ignored, and so are
 * flags that are not booleans: the core would read `"true"` as false. The rest is checked by
 * the client, like `createTask`'s options.
 * @throws HttpError 400 `INVALID_BODY`, `INVALID_JSON`, `NOT_JSON` or `INVALID_SCHEDULE`.
 */
function definitionOf(body: unknown): { name: unknown; definition: ScheduleDefinition } {
  if (!isObject(body)) {
    throw new HttpError(
      400,
      'INVALID_BODY',
      'The request body must be a schedule object ({"name": ..., "cron": ..., "task": ...}).',
      { field: 'body' },
    );
  }
  assertStorableJson(body, '');
  const { name, ...definition } = body;
  for (const key of Object.keys(definition)) {
    if (!DEFINITION_FIELDS.has(key)) {
      const shown = JSON.stringify(key.slice(0, 50));
      throw invalidSchedule(
        key.slice(0, 100),
        `Unknown schedule field ${shown}; known: name, ${[...DEFINITION_FIELDS].join(', ')}.`,
      );
    }
  }
  for (const key of BOOLEAN_FIELDS) {
    const value = definition[key];
    if (value !== undefined && typeof value !== 'boolean') {
      throw invalidSchedule(key, `${key} must be true or false.`);
    }
  }
  return { name, definition: definition as unknown as ScheduleDefinition };
}

/** The `:name` of the path; one longer than any schedule name is a 404 without a query. */
function nameParam(c: Context): string {
  const name = c.req.param('name') ?? '';
  if (name.length > MAX_NAME_LENGTH) throw new ScheduleNotFoundError(`${name.slice(0, MAX_NAME_LENGTH)}…`);
  return name;
}

function jsonBodyLimit(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      errorJson(
        c,
        new HttpError(413, 'PAYLOAD_TOO_LARGE', `The request body is over ${maxBytes} bytes.`, {
          field: 'body',
        }),
      ),
  });
}

/** Registers `/schedules` and the `/schedules/:name` routes on `app`. */
export function registerScheduleRoutes(app: Hono, config: ScheduleRoutesConfig): void {
  const { schedules } = config;
  const limit = jsonBodyLimit(config.maxBodyBytes);

  app.get('/schedules', async (c) => {
    const list = await schedules.list();
    return c.json({ schedules: list.map(scheduleToJson) });
  });

  app.post('/schedules', limit, async (c) => {
    const { name, definition } = definitionOf(await readJsonBody(c));
    const created = await schedules.create(name as string, definition);
    return c.json(scheduleToJson(created), 201, {
      Location: `${c.req.path}/${encodeURIComponent(created.name)}`,
    });
  });

  app.get('/schedules/:name', async (c) => {
    const name = nameParam(c);
    const schedule = await schedules.get(name);
    if (!schedule) throw new ScheduleNotFoundError(name);
    return c.json(scheduleToJson(schedule));
  });

  app.put('/schedules/:name', limit, async (c) => {
    const name = nameParam(c);
    const body = definitionOf(await readJsonBody(c));
    // The name is the path's; a schedule cannot be renamed (delete it and create another).
    if (body.name !== undefined && body.name !== name) {
      throw invalidSchedule('name', 'The body’s name differs from the path’s; schedules cannot be renamed.');
    }
    return c.json(scheduleToJson(await schedules.update(name, body.definition)));
  });

  app.post('/schedules/:name/pause', async (c) =>
    c.json(scheduleToJson(await schedules.pause(nameParam(c)))),
  );

  app.post('/schedules/:name/resume', async (c) =>
    c.json(scheduleToJson(await schedules.resume(nameParam(c)))),
  );

  app.delete('/schedules/:name', async (c) => {
    await schedules.delete(nameParam(c));
    return c.body(null, 204);
  });
}

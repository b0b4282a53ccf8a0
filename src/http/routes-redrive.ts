/**
 * Dead letters over HTTP: `POST /tasks/redrive` retries the `FAILED` tasks matching a filter
 * in bulk (or only counts them, `dryRun`), `GET /failures` groups them by error type. Both go
 * through the client, so workers get the same wake-ups as from `client.redriveFailed`.
 * @module
 */
import type { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type {
  FailureReason,
  FailureReasonsOptions,
  RedriveFailedOptions,
  RedriveFailedResult,
} from '../core/service/redrive-failed.ts';
import type { TaskClient } from '../core/service/task-client.ts';
import { errorJson, HttpError } from './error-response.ts';
import { assertStorableJson, readJsonBody } from './json-body.ts';

/** What the dead-letter routes need. */
export interface RedriveRoutesConfig {
  client: TaskClient;
}

/** The body of `POST /tasks/redrive`: the client's result. */
export type RedriveJson = RedriveFailedResult;

/** One group of `GET /failures`. */
export interface FailureReasonJson {
  errorType: string | null;
  count: number;
  /** ISO 8601. */
  lastSeenAt: string | null;
  sampleTaskId: string;
  sampleError: string | null;
}

/** The body of `GET /failures`. */
export interface FailuresJson {
  reasons: FailureReasonJson[];
}

// A filter body is a few short strings; anything much bigger is not one.
const MAX_REDRIVE_BODY_BYTES = 16 * 1024;
const QUERY_KEYS = ['name', 'queue', 'errorType', 'from', 'to', 'limit'] as const;

function reasonToJson(reason: FailureReason): FailureReasonJson {
  return { ...reason, lastSeenAt: reason.lastSeenAt?.toISOString() ?? null };
}

/**
 * The filters of `GET /failures` from the query string; an empty parameter counts as absent,
 * as on `GET /tasks`, so an HTML form's empty fields mean "any".
 */
function failuresQuery(query: (key: string) => string | undefined): FailureReasonsOptions {
  const options: Record<string, unknown> = {};
  for (const key of QUERY_KEYS) {
    const value = query(key);
    if (value !== undefined && value !== '') options[key] = value;
  }
  if (typeof options.limit === 'string') {
    const raw = options.limit;
    options.limit = /^\d{1,6}$/.test(raw) ? Number(raw) : Number.NaN;
    if (Number.isNaN(options.limit)) {
      throw new HttpError(
        400,
        'INVALID_LIMIT',
        `limit must be an integer, got ${JSON.stringify(raw.slice(0, 50))}.`,
        { field: 'limit' },
      );
    }
  }
  return options as FailureReasonsOptions;
}

/** Registers `POST /tasks/redrive` and `GET /failures` on `app`. Register after the auth middleware. */
export function registerRedriveRoutes(app: Hono, config: RedriveRoutesConfig): void {
  const { client } = config;

  app.post(
    '/tasks/redrive',
    bodyLimit({
      maxSize: MAX_REDRIVE_BODY_BYTES,
      onError: (c) =>
        errorJson(
          c,
          new HttpError(
            413,
            'PAYLOAD_TOO_LARGE',
            `The request body is over ${MAX_REDRIVE_BODY_BYTES} bytes.`,
            {
              field: 'body',
            },
          ),
        ),
    }),
    async (c) => {
      const body = await readJsonBody(c);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new HttpError(
          400,
          'INVALID_BODY',
          'The request body must be an object of filters, e.g. {"queue": "emails", "limit": 100}, or {} for any.',
          { field: 'body' },
        );
      }
      assertStorableJson(body, '');
      const result: RedriveJson = await client.redriveFailed(body as RedriveFailedOptions);
      return c.json(result);
    },
  );

  app.get('/failures', async (c) => {
    const reasons = await client.failureReasons(failuresQuery((key) => c.req.query(key)));
    const body: FailuresJson = { reasons: reasons.map(reasonToJson) };
    return c.json(body);
  });
}

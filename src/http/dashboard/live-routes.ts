/**
 * The routes behind live pages (see live-script.ts for the browser's side):
 *
 * | Route | Answer |
 * |---|---|
 * | `GET /dashboard/live?status=&queue=&name=&cursor=` | the overview's snapshot, JSON; 400 for a bad filter |
 * | `GET /dashboard/events?…` (the same) | the overview's snapshots as server-sent events |
 * | `GET /dashboard/tasks/:id/live` | the task page's snapshot, JSON; 404 for an unknown id |
 * | `GET /dashboard/tasks/:id/events` | the task page's snapshots as server-sent events; 404 |
 * | `GET /dashboard/assets/live-<hash>.js` | the script, cacheable for good (the name changes with it) |
 *
 * An event stream is fed by the notifier: the overview listens to every queue's wake-ups
 * (created, requeued, cancelled), a task page to its task's channel; see live-stream.ts for
 * its timers, and live-streams.ts for their bound. Streams answer 204 without a notifier (on
 * Workers, where the app lives for one request, leave it out: pages poll), 503 with
 * `Retry-After` beyond `maxStreams` at once or while the notifier is down; a browser then
 * polls the snapshot. They sit behind the same session check as every page (a stream ends
 * after a few minutes, and its reconnection is checked again).
 * @module
 */
import type { Context, Hono } from 'hono';
import { anyQueueChannel, taskChannel } from '../../core/events/task-events.ts';
import { isTaskId } from '../../core/task-id.ts';
import type { LiveChannels } from './live-channels.ts';
import { DASHBOARD_PATH, dashboardRoot, taskPath, withQuery } from './dashboard-paths.ts';
import type { LiveLinks } from './layout.ts';
import { LIVE_SCRIPT, LIVE_SCRIPT_FILE } from './live-script.ts';
import type { LiveStreamSettings } from './live-stream.ts';
import { LiveStreams, NO_STORE, refuse, type LiveView } from './live-streams.ts';
import {
  loadOverview,
  overviewSnapshot,
  taskSnapshot,
  type DashboardSources,
  type LiveSnapshot,
} from './live-views.ts';
import { parseOverviewFilters, readOverviewQuery, type OverviewQuery } from './overview-data.ts';
import { SharedReads } from './shared-reads.ts';

/** What {@link registerLiveRoutes} needs. */
export interface LiveRoutesConfig {
  sources: DashboardSources;
  schema: string;
  /** The notifier's shared subscriptions, or `null` without a notifier (no streams). */
  channels: LiveChannels | null;
  /** Most streams open at once. */
  maxStreams: number;
  settings: LiveStreamSettings;
  /** Receives a failed read of an open stream (the stream ends; the browser reconnects). */
  onError: (error: unknown, request: Request) => void;
}

/** How old a read another page started may be for a poll to share it (ms). */
const POLL_SHARE_MS = 1000;

/** The live links of the overview with `query`, and of task `id`. */
export interface LiveLinker {
  overview(c: Context, query: OverviewQuery): LiveLinks;
  task(c: Context, id: string): LiveLinks;
}

/** The overview's view, or the 400 answer for filters the page would refuse too. */
function overviewView(c: Context, config: LiveRoutesConfig): LiveView | Response {
  const query = readOverviewQuery((key) => c.req.query(key));
  const parsed = parseOverviewFilters(query);
  if ('error' in parsed) return refuse(c, 400, 'INVALID_FILTER', parsed.error);
  const root = dashboardRoot(c);
  // Past the first page the list is not sent (overviewSnapshot), so it is not read either.
  const firstPage = query.cursor === '';
  return {
    key: `overview ${JSON.stringify([root, query.status, query.queue, query.name, firstPage])}`,
    channel: anyQueueChannel(config.schema),
    load: async () => overviewSnapshot(root, query, await loadOverview(config.sources, query, firstPage)),
  };
}

/** A task page's view, or the 404 answer. */
async function taskView(c: Context, config: LiveRoutesConfig): Promise<LiveView | Response> {
  const { client } = config.sources;
  const id = c.req.param('id') ?? '';
  const task = isTaskId(id) ? await client.getTask(id) : null;
  if (!task)
    return refuse(c, 404, 'TASK_NOT_FOUND', `No task has the id ${JSON.stringify(id.slice(0, 40))}.`);
  const root = dashboardRoot(c);
  return {
    key: `task ${JSON.stringify([root, id])}`,
    channel: taskChannel(config.schema, id),
    load: async () => taskSnapshot(root, await client.getTask(id)),
  };
}

/** Registers the live routes (after the auth middleware); returns what pages link to. */
export function registerLiveRoutes(app: Hono, config: LiveRoutesConfig): LiveLinker {
  const { channels } = config;
  const reads = new SharedReads<LiveSnapshot>();
  const streams = new LiveStreams({ ...config, reads });

  async function poll(c: Context, view: LiveView | Response): Promise<Response> {
    if (view instanceof Response) return view;
    // A poll has no event to be fresher than: a read another page started a moment ago will do.
    const since = Date.now() - POLL_SHARE_MS;
    return c.json(await reads.read(view.key, since, view.load), 200, NO_STORE);
  }

  const stream = async (c: Context, view: LiveView | Response) =>
    view instanceof Response ? view : streams.open(c, view);

  app.get(`${DASHBOARD_PATH}/live`, (c) => poll(c, overviewView(c, config)));
  app.get(`${DASHBOARD_PATH}/events`, (c) => stream(c, overviewView(c, config)));
  app.get(`${DASHBOARD_PATH}/tasks/:id/live`, async (c) => poll(c, await taskView(c, config)));
  app.get(`${DASHBOARD_PATH}/tasks/:id/events`, async (c) => stream(c, await taskView(c, config)));
  app.get(`${DASHBOARD_PATH}/assets/${LIVE_SCRIPT_FILE}`, (c) =>
    c.body(LIVE_SCRIPT, 200, {
      'Content-Type': 'text/javascript; charset=utf-8',
      'Cache-Control': 'private, max-age=31536000, immutable',
      'X-Content-Type-Options': 'nosniff',
    }),
  );

  return {
    overview(c, query) {
      const root = dashboardRoot(c);
      const params = { status: query.status, queue: query.queue, name: query.name, cursor: query.cursor };
      return {
        poll: withQuery(`${root}/live`, params),
        stream: channels ? withQuery(`${root}/events`, params) : null,
      };
    },
    task(c, id) {
      const path = taskPath(dashboardRoot(c), id);
      return { poll: `${path}/live`, stream: channels ? `${path}/events` : null };
    },
  };
}

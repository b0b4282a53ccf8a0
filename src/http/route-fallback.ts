/**
 * What the API answers when no route handled a request: 405 with `Allow` when the path exists
 * for other methods, 404 otherwise.
 * @module
 */
import type { Hono, NotFoundHandler } from 'hono';
import { PatternRouter } from 'hono/router/pattern-router';
import { errorJson, HttpError } from './error-response.ts';

/**
 * Builds the `notFound` handler of `app`. Hono itself answers a wrong method with 404; the
 * allowed methods are read from `app.routes` when needed (and re-read after routes are added,
 * so routes mounted after `createApp`, like the dashboard's, are included).
 */
export function routeFallback(app: Hono): NotFoundHandler {
  let router = new PatternRouter<string>();
  let methods: string[] = [];
  let routeCount = -1;

  function rebuild(): void {
    router = new PatternRouter<string>();
    const seen = new Set<string>();
    for (const route of app.routes) {
      // `ALL` is how middleware (`app.use`) is registered: it does not make a path exist.
      if (route.method === 'ALL') continue;
      try {
        router.add(route.method, route.path, route.method);
        seen.add(route.method);
      } catch {
        // A pattern PatternRouter cannot express only loses its 405; it still routes.
      }
    }
    methods = [...seen];
    routeCount = app.routes.length;
  }

  return (c) => {
    if (routeCount !== app.routes.length) rebuild();
    const allowed = methods.filter((method) => router.match(method, c.req.path)[0].length > 0);
    // PatternRouter also matches with a trailing slash, which Hono's strict routing does not:
    // when the request's own method "matches", the path only looked like a route.
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
    if (allowed.length === 0 || allowed.includes(method)) {
      return errorJson(
        c,
        new HttpError(404, 'NOT_FOUND', `No route for ${c.req.method} ${c.req.path.slice(0, 200)}.`),
      );
    }
    if (allowed.includes('GET')) allowed.push('HEAD');
    return errorJson(
      c,
      new HttpError(
        405,
        'METHOD_NOT_ALLOWED',
        `${c.req.method} is not allowed here; use ${allowed.join(', ')}.`,
        {
          headers: { Allow: allowed.join(', ') },
        },
      ),
    );
  };
}

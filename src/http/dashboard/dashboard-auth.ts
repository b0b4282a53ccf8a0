/**
 * Who may use the dashboard. Browsers cannot send a bearer header when they navigate, so a
 * login form trades the API token for a session cookie (see dashboard-session.ts); API
 * clients may still send `Authorization: Bearer <token>`. Forged posts are refused three
 * ways: the cookie is `SameSite=Strict` (a cross-site request does not carry it), every
 * change is a POST, and a POST whose `Origin` names another origin (or that says
 * `Sec-Fetch-Site: cross-site`) gets 403. Wrong logins count against the client's budget in
 * the app's credential throttle, shared with bearer tokens: once locked out, the login form
 * answers 429 with `Retry-After`, whatever token it is sent.
 * @module
 */
import type { Hono, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { bearerAuth, type RequestThrottle } from '../auth.ts';
import { isCrossOrigin, isHttps } from '../request-origin.ts';
import { DASHBOARD_SESSION_SECONDS, dashboardSessions } from './dashboard-session.ts';
import { DASHBOARD_PATH, dashboardRoot, withQuery } from './dashboard-paths.ts';
import { flashFor } from './flash.ts';
import { htmlPage, redirect } from './layout.ts';
import { loginPage } from './pages/login-page.ts';
import { messagePage } from './pages/message-page.ts';

/** Name of the session cookie. */
export const DASHBOARD_COOKIE = 'etw_dashboard';

/** What {@link registerDashboardAuth} needs. */
export interface DashboardAuthConfig {
  /** The API token, or `false` for an open dashboard (local development). */
  apiToken: string | false;
  /** The clock sessions expire by, in milliseconds since the epoch. */
  now: () => number;
  /** Back-off for wrong logins and bearer tokens, shared with the API's bearer check. */
  throttle: RequestThrottle;
}

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
// The login form holds one token; anything much bigger is not a login.
const MAX_FORM_BYTES = 16 * 1024;

/** Refuses a state-changing request that a page of another origin sent. */
const refuseCrossOrigin: MiddlewareHandler = async (c, next) => {
  if (!SAFE_METHODS.has(c.req.method) && isCrossOrigin(c)) {
    const page = messagePage({
      root: dashboardRoot(c),
      title: 'Refused',
      message: 'This form was sent from another site. Use the dashboard’s own pages to make changes.',
      logout: false,
    });
    return htmlPage(c, page, 403);
  }
  await next();
};

/** The form field `name` as text; a missing field, a file or an unreadable body is empty. */
async function formField(parse: () => Promise<Record<string, unknown>>, name: string): Promise<string> {
  try {
    const value = (await parse())[name];
    return typeof value === 'string' ? value : '';
  } catch {
    // A malformed multipart body is the sender's mistake, not a server error.
    return '';
  }
}

/**
 * Registers the origin check, `GET|POST /dashboard/login`, `POST /dashboard/logout` and the
 * middleware that sends every other dashboard request without a valid session (or bearer
 * token) to the login page. Call it before the dashboard's own routes: Hono runs handlers in
 * registration order, which is what leaves the login page open and everything after it guarded.
 */
export function registerDashboardAuth(app: Hono, config: DashboardAuthConfig): void {
  const { apiToken } = config;
  const sessions = apiToken === false ? null : dashboardSessions(apiToken);
  const bearer = apiToken === false ? null : bearerAuth(apiToken, config.throttle);

  app.use(`${DASHBOARD_PATH}/*`, refuseCrossOrigin);

  app.get(`${DASHBOARD_PATH}/login`, (c) => {
    const root = dashboardRoot(c);
    if (!sessions) return redirect(c, root);
    return htmlPage(c, loginPage({ root, flash: flashFor(c.req.query('flash')) }));
  });

  app.post(
    `${DASHBOARD_PATH}/login`,
    bodyLimit({
      maxSize: MAX_FORM_BYTES,
      onError: (c) => htmlPage(c, loginPage({ root: dashboardRoot(c), failed: true }), 413),
    }),
    async (c) => {
      const root = dashboardRoot(c);
      if (!sessions) return redirect(c, root);
      const wait = config.throttle.retryAfter(c);
      if (wait > 0) {
        c.header('Retry-After', String(wait));
        return htmlPage(c, loginPage({ root, retryAfterSeconds: wait }), 429);
      }
      // Pasted tokens often carry a trailing newline; a real token has no whitespace.
      const token = (await formField(() => c.req.parseBody(), 'token')).trim();
      const session = await sessions.login(token, config.now());
      if (session === null) {
        config.throttle.failed(c);
        return htmlPage(c, loginPage({ root, failed: true }), 401);
      }
      config.throttle.succeeded(c);
      setCookie(c, DASHBOARD_COOKIE, session, {
        httpOnly: true,
        sameSite: 'Strict',
        // Scoped to the dashboard: the JSON API never accepts the cookie, so it need not see it.
        path: root,
        secure: isHttps(c),
        maxAge: DASHBOARD_SESSION_SECONDS,
      });
      return redirect(c, root);
    },
  );

  // Stateless sessions cannot be revoked on the server: logging out deletes the browser's
  // copy; a copied cookie stays valid until it expires or the API token is rotated.
  app.post(`${DASHBOARD_PATH}/logout`, (c) => {
    const root = dashboardRoot(c);
    deleteCookie(c, DASHBOARD_COOKIE, { path: root, httpOnly: true, sameSite: 'Strict', secure: isHttps(c) });
    return redirect(c, sessions ? withQuery(`${root}/login`, { flash: 'logged-out' }) : root);
  });

  app.use(`${DASHBOARD_PATH}/*`, async (c, next) => {
    if (!sessions || !bearer) return next();
    // A request that names a bearer token is an API client: the API's own check answers it,
    // 401 JSON included, rather than a redirect to a form it cannot fill in.
    if (c.req.header('Authorization') !== undefined) return bearer(c, next);
    if (await sessions.isValid(getCookie(c, DASHBOARD_COOKIE), config.now())) return next();
    return redirect(c, `${dashboardRoot(c)}/login`);
  });
}

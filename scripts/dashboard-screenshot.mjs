// Browser check of the dashboard: serves createApp (with @hono/node-server) over a throwaway
// schema filled with sample tasks, logs in through the form in headless Chromium, and saves
// screenshots of the overview and a failed task's page at laptop and phone sizes.
// Needs Chromium and playwright-core, neither a dependency of this package:
//   apt-get install -y chromium && npm install --no-save playwright-core
//   DATABASE_URL=postgres://... node scripts/node22.mjs node scripts/dashboard-screenshot.mjs [out-dir]
// PLAYWRIGHT_CORE may point at playwright-core installed elsewhere; CHROMIUM at the browser.
import { serve } from '@hono/node-server';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { createApp } from '../src/http/index.ts';
import { migrate } from '../src/core/migrations/migrate.ts';
import { createPgDatabase } from '../src/adapters/node/pg-database.ts';

const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const outDir = process.argv[2] ?? '/tmp';
const token = 'screenshot-token';
const schema = `t_dashboard_shot_${Math.random().toString(36).slice(2, 8)}`;
const { chromium } = await import(process.env.PLAYWRIGHT_CORE ?? 'playwright-core');

const db = createPgDatabase({ connectionString: databaseUrl });
// Run in order: the browser and server first (unshifted below), the database last.
const closers = [() => db.query(`drop schema if exists "${schema}" cascade`), () => db.close()];
try {
  await migrate(db, { schema });
  const client = createTaskClient({ database: db, schema });
  const failedId = await seed(db, client);
  const app = createApp({ database: db, schema, apiToken: token, client });
  const server = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  closers.unshift(() => new Promise((resolve) => server.close(resolve)));
  const base = `http://127.0.0.1:${server.address().port}`;

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  closers.unshift(() => browser.close());
  for (const [label, viewport] of [
    // The laptop pass clicks Retry, so it goes last: the phone pass sees the failed task.
    ['phone', { width: 390, height: 844 }],
    ['laptop', { width: 1280, height: 800 }],
  ]) {
    const page = await browser.newPage({ viewport, deviceScaleFactor: label === 'phone' ? 2 : 1 });
    await page.goto(`${base}/dashboard`);
    // Not logged in: the dashboard sends the browser to the form.
    if (!page.url().endsWith('/dashboard/login'))
      throw new Error(`expected the login page, got ${page.url()}`);
    await page.screenshot({ path: `${outDir}/dashboard-login-${label}.png` });
    await page.fill('input[name=token]', token);
    await Promise.all([page.waitForURL(`${base}/dashboard`), page.click('button[type=submit]')]);
    await page.screenshot({ path: `${outDir}/dashboard-overview-${label}.png`, fullPage: true });
    await page.goto(`${base}/dashboard/tasks/${failedId}`);
    await page.screenshot({ path: `${outDir}/dashboard-task-${label}.png`, fullPage: true });
    if (label === 'laptop') {
      // The retry button: a real form post, then the flash on the task page.
      await Promise.all([page.waitForURL(/flash=retried/), page.click('button:has-text("Retry")')]);
      await page.screenshot({ path: `${outDir}/dashboard-retried-${label}.png` });
    }
    await page.close();
  }
  console.log(
    `screenshots in ${outDir}: dashboard-{login,overview,task}-{laptop,phone}.png, dashboard-retried-laptop.png`,
  );
} finally {
  for (const close of closers) await close().catch((error) => console.error(error));
}

/** Sample tasks in every status; returns the id of a failed one with an error history. */
async function seed(db, client) {
  const specs = [
    ['app.tasks.multiply_numbers', 'default', 'COMPLETED', { args: [6, 7] }],
    ['app.tasks.send_welcome_email', 'emails', 'PENDING', { kwargs: { to: 'ada@example.com' } }],
    ['app.tasks.send_welcome_email', 'emails', 'FAILED', { kwargs: { to: '<script>alert(1)</script>' } }],
    ['app.tasks.build_report', 'reports', 'PROGRESS', { kwargs: { month: '2026-10' } }],
    ['app.tasks.build_report', 'reports', 'CANCELLED', { kwargs: { month: '2026-09' } }],
    ['app.tasks.multiply_numbers', 'default', 'COMPLETED', { args: [2, 3] }],
    ['app.tasks.resize_image', 'default', 'PENDING', { args: ['uploads/cat.jpg'], priority: 5 }],
    ['app.tasks.multiply_numbers', 'default', 'FAILED', { args: ['x', 2] }],
  ];
  let failedId = '';
  for (const [name, queue, status, options] of specs) {
    const task = await client.createTask(name, { queue, maxRetries: 2, ...options });
    const set = (assignments) =>
      db.query(`update "${schema}".tasks set ${assignments} where id = $1`, [task.id]);
    if (status === 'COMPLETED') {
      await set(`status = 'COMPLETED', result = '42', attempt = 1, started_at = now(),
        finished_at = now() + interval '1.92 seconds', duration = 1.92, worker_id = 'container-1'`);
    } else if (status === 'PROGRESS') {
      await set(`status = 'PROGRESS', attempt = 1, worker_id = 'container-1', started_at = now(),
        lease_until = now() + interval '30 seconds', progress = '{"done": 12, "total": 40}'`);
    } else if (status === 'CANCELLED') {
      await set(`status = 'CANCELLED', finished_at = now()`);
    } else if (status === 'FAILED') {
      await set(`status = 'FAILED', attempt = 3, retry_count = 2, worker_id = 'container-2',
        started_at = now(), finished_at = now() + interval '0.84 seconds', duration = 0.84,
        error = 'SMTP server said: 550 <script>alert(2)</script> mailbox unavailable',
        error_type = 'SmtpError',
        error_stack = E'SmtpError: 550 mailbox unavailable\\n    at send (tasks.ts:41:11)\\n    at run (worker.ts:88:5)',
        error_history = '[{"attempt":1,"message":"connect ETIMEDOUT","type":"Error","at":"2026-11-24T09:00:00.000Z"},
                          {"attempt":2,"message":"550 mailbox unavailable","type":"SmtpError","at":"2026-11-24T09:00:05.000Z"}]'`);
      if (failedId === '') failedId = task.id;
    }
  }
  return failedId;
}

/**
 * The dashboard in a real browser: Debian's headless Chromium driven by playwright-core,
 * against the app served by @hono/node-server with a real Redis notifier and a real worker
 * process (`task-worker run`). A task created through the API appears on the overview without
 * a reload; a failed task is retried from its page and turns COMPLETED there without a
 * reload; at phone width no page is wider than the screen.
 *
 * Screenshots (docs/screenshots/dashboard-laptop.png, dashboard-phone.png) are written only
 * with UPDATE_SCREENSHOTS=1: they show ids and times, so writing them on every run would change
 * tracked files each time; the layout check that guards them runs always.
 *
 * Never skipped in CI: without /usr/bin/chromium it fails there (`.ci/run` installs it);
 * elsewhere it is skipped with that reason.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRedisNotifier } from '../src/adapters/node/redis-notifier.ts';
import type { Notifier } from '../src/core/notifier.ts';
import { createTaskClient, type TaskClient } from '../src/core/service/task-client.ts';
import { createApp } from '../src/http/index.ts';
import { useTestSchema } from './support/test-schema.ts';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.ts';

const CHROMIUM = '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
const TOKEN = 'browser-token-81d2e7';
const SCREENSHOTS = join(import.meta.dirname, '..', 'docs', 'screenshots');

const t = useTestSchema('dash_browser');
let notifier: Notifier;
let client: TaskClient;
let server: ServerType;
let base: string;
let worker: WorkerProcess;
let profile: string;
let browser: BrowserContext;
let page: Page;

/** Marks the current document; a reload or navigation replaces it and loses the mark. */
const mark = (on: Page) => on.evaluate(() => ((window as unknown as { etwMark: boolean }).etwMark = true));
const marked = (on: Page) => on.evaluate(() => (window as unknown as { etwMark?: boolean }).etwMark === true);

async function createThroughApi(body: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${base}/tasks`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

/** The worker process, and the app on a free port with a Redis notifier (the worker's too). */
async function startApp(): Promise<void> {
  const redisUrl = inject('redisUrl');
  // The worker serves the default queue only: the tasks seeded for the charts stay as written.
  worker = startWorkerProcess({
    databaseUrl: t.databaseUrl,
    schema: t.schema,
    args: ['--queues', 'default', '--concurrency', '2', '--log-level', 'debug'],
    env: { REDIS_URL: redisUrl },
  });
  notifier = createRedisNotifier({ url: redisUrl, onError: () => undefined });
  client = createTaskClient({ database: t.db, schema: t.schema, notifier });
  const app = createApp({ database: t.db, schema: t.schema, apiToken: TOKEN, client, notifier });
  server = await new Promise<ServerType>((resolve) => {
    const listening = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(listening));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Debian's Chromium, headless, with a fresh profile and nothing that reaches the network. */
function launchChromium(userDataDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

describe.skipIf(!present && process.env.CI !== 'true')('the dashboard in headless Chromium', () => {
  beforeAll(async () => {
    if (!present) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (CI runs this suite).`);
    await startApp();
    profile = await mkdtemp(join(tmpdir(), 'etw-chromium-'));
    [browser] = await Promise.all([
      launchChromium(profile),
      worker.waitFor('worker_started'),
      seedLastHour(),
    ]);
    page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(`${base}/dashboard`);
    await page.fill('input[name="token"]', TOKEN);
    await Promise.all([page.waitForURL(`${base}/dashboard`), page.click('button[type="submit"]')]);
  });

  afterAll(async () => {
    await browser?.close();
    if (worker && worker.child.exitCode === null) worker.child.kill('SIGTERM');
    await worker?.exited;
    await new Promise<void>((resolve) => {
      if (!server) return resolve();
      server.close(() => resolve());
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
    await notifier?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it('shows a task created through the API without a reload', async () => {
    await page.waitForSelector('#live-mode[data-state="live"]');
    await mark(page);
    const id = await createThroughApi({ name: 'test.sleep', args: [50] });
    await page.waitForSelector(`#live-tasks a[href="/dashboard/tasks/${id}"]`, { timeout: 10_000 });
    expect(await marked(page)).toBe(true);
  });

  it('retries a failed task from its page, which turns COMPLETED without a reload', async () => {
    const id = await createThroughApi({ name: 'test.fail_once', maxRetries: 0 });
    expect((await client.waitForCompletion(id, { timeout: 10 }))?.status).toBe('FAILED');
    await page.goto(`${base}/dashboard/tasks/${id}`);
    await page.waitForSelector('#live-mode[data-state="live"]');
    expect(await page.textContent('#live-task h1 .status')).toBe('FAILED');
    // The worker is held while the retried task's page loads, so the page shows it PENDING
    // first and the COMPLETED below can only come from a live update.
    process.kill(worker.child.pid!, 'SIGSTOP');
    try {
      await Promise.all([page.waitForURL(/flash=retried/), page.click('button:has-text("Retry")')]);
      expect(await page.textContent('.flash')).toBe('Task queued again.');
      expect(await page.textContent('#live-task h1 .status')).toBe('PENDING');
      await page.waitForSelector('#live-mode[data-state="live"]');
      await mark(page);
    } finally {
      process.kill(worker.child.pid!, 'SIGCONT');
    }
    await page.waitForSelector('#live-task h1 .status-completed', { timeout: 10_000 });
    expect(await marked(page)).toBe(true);
    expect(await page.textContent('#live-task')).toContain('"second attempt"');
  });

  it('fits a phone and a laptop screen (screenshots with UPDATE_SCREENSHOTS=1)', async () => {
    const update = process.env.UPDATE_SCREENSHOTS === '1';
    if (update) await mkdir(SCREENSHOTS, { recursive: true });
    await page.goto(`${base}/dashboard`);
    await page.waitForSelector('#live-mode[data-state="live"]');
    expect(await page.locator('#live-charts rect.chart-failed').count()).toBeGreaterThan(5);
    if (update) await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-laptop.png') });

    const phone = await browser.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    try {
      const widest = async (path: string) => {
        await phone.goto(`${base}${path}`);
        return phone.evaluate(() => document.documentElement.scrollWidth);
      };
      expect(await widest('/dashboard')).toBeLessThanOrEqual(390);
      expect(await widest('/dashboard/failures')).toBeLessThanOrEqual(390);
      expect(await widest('/dashboard/schedules')).toBeLessThanOrEqual(390);
      const failed = await client.createTask('test.fail', {
        args: ['a message long enough to wrap on a phone: it must not widen the page'],
        maxRetries: 0,
      });
      await client.waitForCompletion(failed.id, { timeout: 10 });
      expect(await widest(`/dashboard/tasks/${failed.id}`)).toBeLessThanOrEqual(390);
      if (update) {
        await phone.goto(`${base}/dashboard`);
        await phone.waitForSelector('#live-mode[data-state="live"]');
        await phone.screenshot({ path: join(SCREENSHOTS, 'dashboard-phone.png') });
      }
    } finally {
      await phone.close();
    }
  });
});

/**
 * An hour of finished tasks in queues the worker does not serve, so the charts have something
 * to draw: more recently than earlier, with a failure now and then; some pending, and limits.
 */
async function seedLastHour(): Promise<void> {
  const queues = ['emails', 'reports', 'webhooks'];
  const tasks = Array.from({ length: 420 }, (_, i) => ({
    name: ['app.tasks.send_email', 'app.tasks.build_report', 'app.tasks.deliver_webhook'][i % 3]!,
    queue: queues[i % 3]!,
  }));
  await client.createTasks(tasks);
  await t.db.query(
    `with numbered as (
       select id, row_number() over (order by id) as n from ${t.schema}.tasks
       where queue in ('emails', 'reports', 'webhooks')
     )
     update ${t.schema}.tasks t
     set status = case when n % 23 = 0 then 'FAILED' else 'COMPLETED' end,
         finished_at = now() - make_interval(secs => 3540 * power(1 - n / 400.0, 1.6) + (n * 7) % 50),
         started_at = now() - make_interval(secs => 3540 * power(1 - n / 400.0, 1.6) + (n * 7) % 50 + 1),
         attempt = 1, duration = 0.2 + (n % 9) / 10.0,
         error = case when n % 23 = 0 then 'SMTP 451: try again later' end,
         error_type = case when n % 23 = 0 then 'DeliveryError' end
     from numbered where t.id = numbered.id and numbered.n <= 400`,
  );
  await t.db.query(
    `insert into ${t.schema}.queue_limits (queue, concurrency, rate_limit, rate_period_seconds)
     values ('emails', 5, 100, 60), ('webhooks', 20, null, null)`,
  );
}

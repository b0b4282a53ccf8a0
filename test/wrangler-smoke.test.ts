/**
 * `npm run smoke:wrangler`, as part of the suite: the Worker under `wrangler dev` (workerd,
 * offline, no nodejs_compat) against `task-worker dev`, with its cron fired by /__scheduled.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('wrangler dev smoke test', () => {
  it('a task created through the Worker is executed by its cron handler', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.DATABASE_URL;
    delete env.REDIS_URL;
    const child = spawn(process.execPath, ['scripts/smoke-wrangler.mjs'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code, output).toBe(0);
    expect(output).toMatch(/completed by cloudflare:\w+ with result 56/);
  }, 150_000);
});

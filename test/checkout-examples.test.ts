/**
 * The README's examples run in a checkout as written, without `npm run build`: the checkout's
 * CLI resolves `edge-task-worker` and its subpaths to the TypeScript sources for a tasks module
 * (worker/container/module-hooks.ts, in the main thread and in every execution thread), and
 * `npm run example -- <script>` does the same for a script. The examples are read from
 * README.md and written into a temporary folder inside the checkout, as a contributor would.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskClient } from '../src/core/service/task-client.ts';
import { freeDevPorts, startDevProcess } from './support/dev-process.ts';
import { useTestSchema } from './support/test-schema.ts';
import { startWorkerProcess } from './support/worker-process.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const readme = await readFile(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((match) => match[1]!);
/** "Defining tasks": the block that starts with `// tasks.ts`. */
const tasksExample = blocks.find((block) => block.startsWith('// tasks.ts\n'));
/** The client example: the block that imports `edge-task-worker/client` and calls `fromEnv`. */
const clientExample = blocks.find(
  (block) => block.includes("from 'edge-task-worker/client'") && block.includes('createClient.fromEnv('),
);

const target = useTestSchema('checkout_examples', { migrate: false });
let dir = '';

function npmRunExample(script: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'example', '--', script], {
      cwd: root,
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  expect(tasksExample, 'README has a ts block starting with "// tasks.ts"').toBeTruthy();
  expect(clientExample, 'README has the createClient.fromEnv example').toBeTruthy();
  mkdirSync(join(root, '.cache'), { recursive: true });
  dir = await mkdtemp(join(root, '.cache', 'checkout-examples-'));
  await writeFile(join(dir, 'tasks.ts'), tasksExample!);
  // The example reads `env` ("Workers bindings, or process.env"); a script has process.env.
  await writeFile(join(dir, 'client.ts'), `const env = process.env;\n${clientExample!}`);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('README examples in a checkout, without a build', () => {
  it('npm run example resolves every entry of the package to its TypeScript source', async () => {
    const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    const specifiers = Object.keys(manifest.exports)
      .filter((subpath) => subpath !== './package.json')
      .map((subpath) => `edge-task-worker${subpath.slice(1)}`);
    await writeFile(
      join(dir, 'resolve.ts'),
      `console.log(JSON.stringify(${JSON.stringify(specifiers)}.map((s) => import.meta.resolve(s))));\n`,
    );
    const result = await npmRunExample(join(dir, 'resolve.ts'), {});
    expect(result.code, result.stderr).toBe(0);
    const resolved = JSON.parse(result.stdout) as string[];
    expect(resolved).toEqual([
      ...specifiers.map((specifier) => {
        const entry = manifest.exports[`.${specifier.slice('edge-task-worker'.length)}`] as Record<
          string,
          string
        >;
        const file = (entry.default ?? entry.node)!.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts');
        return pathToFileURL(join(root, file)).href;
      }),
    ]);
  });

  it("the checkout's task-worker run executes the README tasks module", async () => {
    // `node bin/task-worker.js run --tasks test/fixtures/tasks.ts ...`; the later --tasks wins.
    const readmeWorker = startWorkerProcess({
      databaseUrl: target.databaseUrl,
      schema: target.schema,
      args: ['--tasks', join(dir, 'tasks.ts'), '--migrate', '--poll-interval', '100'],
    });
    try {
      const started = await readmeWorker.waitFor('worker_started');
      expect(started.tasks).toEqual(['app.tasks.multiply_numbers', 'app.tasks.send_email']);
      const client = createTaskClient({ database: target.db, schema: target.schema });
      const task = await client.createTask('app.tasks.multiply_numbers', { args: [2, 3] });
      const done = await client.waitForCompletion(task.id, { timeout: 20 });
      expect(done).toMatchObject({ status: 'COMPLETED', result: 6 });
      readmeWorker.child.kill('SIGTERM');
      expect(await readmeWorker.exited).toBe(0);
    } finally {
      if (readmeWorker.child.exitCode === null) readmeWorker.child.kill('SIGKILL');
    }
  });

  it('the client example, run with npm run example, completes a task of task-worker dev', async () => {
    const dev = await startDevProcess({
      dataDir: join(dir, 'data'),
      ports: await freeDevPorts(),
      args: ['--tasks', join(dir, 'tasks.ts'), '--schema', target.schema],
      env: { DATABASE_URL: target.databaseUrl },
    });
    try {
      const result = await npmRunExample(join(dir, 'client.ts'), dev.env);
      expect(result.code, `${result.stderr}\n${dev.output()}`).toBe(0);
      expect(result.stdout.trim()).toBe('COMPLETED 6');
    } finally {
      await dev.stop();
    }
  }, 90_000);
});

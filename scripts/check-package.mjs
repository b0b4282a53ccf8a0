// The last step of `npm run check`: packs the package as `npm publish` would (`prepack` builds
// dist/) and checks that tarball with publint and "Are the types wrong?" (attw).
//
// attw exceptions, both for an ESM-only package that requires Node >= 22.18:
// - profile node16: skips the `node10` resolution (TypeScript's `moduleResolution: "node"`,
//   deprecated in TypeScript 6), which ignores the exports map and so cannot find subpaths.
// - cjs-resolves-to-esm: attw (on TypeScript 5.6) reports that `require()` of an entry loads an
//   ES module. Node >= 22.12 supports `require()` of ES modules without top-level await, and
//   TypeScript >= 5.8 types it under `module: "nodenext"`; test/package.test.ts requires every
//   entry from a CommonJS project to prove it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'etw-check-package-'));

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    console.error(`check-package: ${command} ${args.join(' ')} failed (exit ${result.status}).`);
    rmSync(dir, { recursive: true, force: true });
    process.exit(result.status ?? 1);
  }
}

try {
  // --loglevel warn: without the notice listing every file (the build's own output still shows).
  run('npm', ['pack', '--loglevel', 'warn', '--pack-destination', dir]);
  const tarball = readdirSync(dir).find((file) => file.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack wrote no tarball into ${dir}`);
  run('publint', ['--strict', join(dir, tarball)]);
  const attw = [
    join(dir, tarball),
    '--profile',
    'node16',
    '--ignore-rules',
    'cjs-resolves-to-esm',
    '--no-definitely-typed',
  ];
  // Quiet when all is well; on a problem, again with its report.
  const quiet = spawnSync('attw', [...attw, '--quiet'], { cwd: root, stdio: 'inherit' });
  if (quiet.status === 0) console.log('attw: no problems (profile node16, cjs-resolves-to-esm ignored).');
  else run('attw', attw);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

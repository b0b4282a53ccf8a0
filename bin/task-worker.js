#!/usr/bin/env node
// The `task-worker` command. In a checkout it runs the TypeScript source (Node >= 22.18 strips
// types), after compiling migrations/*.sql into src/core/migrations/compiled.ts when they changed;
// in the published package, where only dist/ ships, it runs the build.
import { existsSync } from 'node:fs';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`task-worker needs Node >= 22.18 (this is ${process.version}).`);
  process.exit(1);
}
const source = new URL('../worker/cli/cli.ts', import.meta.url);
const checkout = existsSync(source);
if (checkout) await import('../scripts/compile-migrations.mjs');
const { main } = await import(
  checkout ? source.href : new URL('../dist/worker/cli/cli.js', import.meta.url).href
);
process.exitCode = await main(process.argv.slice(2));

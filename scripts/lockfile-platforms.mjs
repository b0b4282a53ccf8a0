// Restores lockfile entries of optional platform packages (workerd, msgpackr-extract, ...)
// that `npm install` drops when the registry mirror serves only Linux builds. Without them,
// `npm ci` refuses the lockfile ("Missing: ... from lock file"). npm never downloads them on a
// platform they do not match. Run after changing dependencies: node scripts/lockfile-platforms.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;
const PLATFORM =
  /(darwin|linux|win32|windows|freebsd|android|openbsd|sunos|aix)-(x64|arm64|arm|ia32|64|ppc64|s390x|riscv64)(?:-(gnu|musl|msvc))?$/;
const OS = { windows: 'win32' };
const CPU = { 64: 'x64' };
let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = path === '' ? '' : `${path}/`;
    const key = `${base}node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (packages[key] || packages[hoisted]) continue;
    const match = PLATFORM.exec(name);
    if (!match) continue;
    packages[hoisted] = {
      version: String(version).replace(/^[\^~]/, ''),
      cpu: [CPU[match[2]] ?? match[2]],
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      os: [OS[match[1]] ?? match[1]],
    };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
);
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lockfile: restored ${added} optional platform entr${added === 1 ? 'y' : 'ies'}`);

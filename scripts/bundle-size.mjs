// Prints the size of the edge client as an edge app would ship it: bundled, minified and
// gzipped, without the Neon and Upstash SDKs (the app has those anyway). Also checks that
// the bundle pulls in no Node built-in.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';

const entries = {
  'edge-task-worker/client': 'client/index.ts',
  'edge-task-worker': 'src/core/index.ts',
  'edge-task-worker/http': 'src/http/index.ts',
};
for (const [name, entry] of Object.entries(entries)) {
  // Split like an app bundler (Next.js, Vite): modules loaded with import() on first use (the
  // cron library behind the schedule client) go to chunks of their own, reported apart.
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    splitting: true,
    outdir: 'bundle-size-out',
    minify: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    write: false,
    external: ['@neondatabase/serverless', '@upstash/redis'],
    logLevel: 'silent',
  });
  const stem = entry.split('/').pop().replace(/\.ts$/, '.js');
  let entrySize = 0;
  let entryGzip = 0;
  let lazy = 0;
  for (const file of result.outputFiles) {
    if (file.path.endsWith(`/${stem}`)) {
      entrySize = file.contents.length;
      entryGzip = gzipSync(file.contents, { level: 9 }).length;
    } else {
      lazy += gzipSync(file.contents, { level: 9 }).length;
    }
  }
  console.log(
    `${name.padEnd(26)} ${(entrySize / 1024).toFixed(1).padStart(6)} KiB min  ${(entryGzip / 1024).toFixed(1).padStart(5)} KiB min+gzip` +
      (lazy > 0 ? `  (+${(lazy / 1024).toFixed(1)} KiB min+gzip loaded on first use)` : ''),
  );
}

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
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    write: false,
    external: ['@neondatabase/serverless', '@upstash/redis'],
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  const gzip = gzipSync(code, { level: 9 }).length;
  console.log(
    `${name.padEnd(26)} ${(code.length / 1024).toFixed(1).padStart(6)} KiB min  ${(gzip / 1024).toFixed(1).padStart(5)} KiB min+gzip`,
  );
}

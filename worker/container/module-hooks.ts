/**
 * Synchronous module hooks installed before a tasks module loads, in every thread that loads
 * one (hooks are per thread: an execution thread does not inherit the main thread's).
 *
 * - **ES module syntax in a CommonJS project.** `npm init -y` writes `"type": "commonjs"`, so
 *   Node loads a user's `tasks.ts` as CommonJS TypeScript and fails on its `import` lines. A
 *   user `.ts` file (outside node_modules) that comes back as `commonjs-typescript` but whose
 *   type-stripped code only compiles as an ES module is loaded as one instead, the way Node's
 *   own syntax detection treats `.js` files in a package without a `type` field. Files that
 *   are valid CommonJS load as before. (`.mts` files are ES modules anyway.)
 * - **A checkout's self-reference.** When this file runs as TypeScript (a checkout, not the
 *   published build), `edge-task-worker[/sub]` imported from inside the checkout resolves to the
 *   TypeScript entry behind that export (`./dist/src/index.js` → `./src/index.ts`), so the
 *   README's examples run without `npm run build`, on the same modules as the worker itself.
 * @module
 */
import { readFileSync } from 'node:fs';
import { registerHooks, stripTypeScriptTypes } from 'node:module';
import { compileFunction, Script } from 'node:vm';
import { STRIPPED_MODULES } from './thread-boot.ts';

const PACKAGE = 'edge-task-worker';

// What V8 says when CommonJS code uses ES module syntax (the same lists Node's syntax detection
// checks): the first set only ES modules allow; the second are valid in an ES module, so the
// code is compiled again as one (an async function body, which allows top-level await) to be sure.
const MODULE_ONLY_ERRORS = new Set([
  'Cannot use import statement outside a module',
  "Unexpected token 'export'",
  "Cannot use 'import.meta' outside a module",
]);
const COMMONJS_ONLY_ERRORS = new Set([
  "Identifier 'module' has already been declared",
  "Identifier 'exports' has already been declared",
  "Identifier 'require' has already been declared",
  "Identifier '__filename' has already been declared",
  "Identifier '__dirname' has already been declared",
  'await is only valid in async functions and the top level bodies of modules',
]);

function syntaxError(compile: () => unknown): string | undefined {
  try {
    compile();
    return undefined;
  } catch (error) {
    return error instanceof SyntaxError ? error.message : undefined;
  }
}

/**
 * Whether JavaScript needs to be an ES module: it fails to compile as a CommonJS module body
 * because of ES module syntax (`import`, `export`, `import.meta`, top-level `await`). Only
 * compiles, never runs.
 */
export function hasModuleSyntax(code: string): boolean {
  const asCommonJs = syntaxError(() =>
    compileFunction(code, ['exports', 'require', 'module', '__filename', '__dirname']),
  );
  if (asCommonJs === undefined) return false;
  if (MODULE_ONLY_ERRORS.has(asCommonJs)) return true;
  if (!COMMONJS_ONLY_ERRORS.has(asCommonJs)) return false;
  const asModuleBody = syntaxError(() => new Script(`(async function () {\n${code}\n})`));
  return asModuleBody === undefined || MODULE_ONLY_ERRORS.has(asModuleBody);
}

/** Node's own stripping, without the warning that the API (not the feature) is experimental. */
function stripTypes(source: string, mode: 'strip' | 'transform'): string {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    if (String(warning).includes('stripTypeScriptTypes')) return;
    return (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    return stripTypeScriptTypes(source, { mode });
  } finally {
    process.emitWarning = emitWarning;
  }
}

function text(source: unknown, url: string): string {
  if (typeof source === 'string') return source;
  if (source instanceof Uint8Array) return new TextDecoder().decode(source);
  return readFileSync(new URL(url), 'utf8');
}

/** `./dist/src/index.js` → `<root>/src/index.ts`, per subpath of the package's exports. */
function sourceEntries(root: URL): Map<string, string> {
  const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
    exports: Record<string, string | Record<string, string>>;
  };
  const entries = new Map<string, string>();
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    const file = typeof target === 'string' ? target : (target.default ?? target.node);
    const match = file && /^\.\/dist\/(.+)\.js$/.exec(file);
    if (match) entries.set(subpath, new URL(`${match[1]}.ts`, root).href);
  }
  return entries;
}

let registered = false;

/** Installs the hooks in this thread (once; later calls do nothing). */
export function registerModuleHooks(): void {
  if (registered) return;
  registered = true;
  const transforms = process.execArgv.includes('--experimental-transform-types');
  // A checkout runs this file as TypeScript; the published package runs dist/…/module-hooks.js.
  const checkout = import.meta.url.endsWith('.ts') ? new URL('../..', import.meta.url) : undefined;
  const entries = checkout ? sourceEntries(checkout) : undefined;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (
        checkout &&
        entries &&
        (specifier === PACKAGE || specifier.startsWith(`${PACKAGE}/`)) &&
        context.parentURL?.startsWith(checkout.href) &&
        !context.parentURL.includes('/node_modules/')
      ) {
        const entry = entries.get(`.${specifier.slice(PACKAGE.length)}`);
        if (entry) return { url: entry, shortCircuit: true };
      }
      return nextResolve(specifier, context);
    },
    load(url, context, nextLoad) {
      const loaded = nextLoad(url, context);
      if (
        loaded.format !== 'commonjs-typescript' ||
        !url.startsWith('file:') ||
        !new URL(url).pathname.endsWith('.ts') || // a .cts file is CommonJS by its name
        url.includes('/node_modules/')
      )
        return loaded;
      const source = text(loaded.source, url);
      let code: string;
      try {
        code = stripTypes(source, transforms ? 'transform' : 'strip');
      } catch {
        return loaded; // Node reports the TypeScript error itself.
      }
      if (!hasModuleSyntax(code)) return loaded;
      if (transforms) return { format: 'module-typescript', source, shortCircuit: true };
      // Stripping keeps every line and column, so stack traces still point at the .ts lines. An
      // execution thread hands the result to the threads it starts later (thread-boot.ts).
      const stripped = (globalThis as Record<symbol, Record<string, string> | undefined>)[STRIPPED_MODULES];
      if (stripped) stripped[url] = code;
      return { format: 'module', source: code, shortCircuit: true };
    },
  });
}

/**
 * The first code of every execution thread, run before any module loads: it lets threads
 * share one type-stripped copy of the TypeScript modules they load.
 *
 * Node strips TypeScript per thread with a WebAssembly stripper that each thread loads again:
 * here that was ~30 ms of a ~60 ms thread start and ~10 MiB of each thread's memory. So the
 * first thread strips every `.ts` module it loads itself (through a module hook, the same
 * transform Node applies) and reports the results; later threads get them in `workerData` and
 * load those modules as plain JavaScript, without the stripper (~30 ms per start). Module URLs
 * and line numbers stay the same, so stack traces still point at the `.ts` files. CommonJS
 * TypeScript and anything not in the map load as usual.
 *
 * The hooks of module-hooks.ts (a `.ts` file with `import`s in a `"type": "commonjs"` project,
 * a checkout's `edge-task-worker` self-reference) are installed by `loadTasks` in the thread,
 * after this one: they run first, and a CommonJS-typed file they load as an ES module goes into
 * the same map, so later threads get it stripped too.
 * @module
 */

/** What {@link bootThread} reads from `workerData.boot`. */
export interface ThreadBoot {
  /** file: URL of the thread's entry module. */
  entryUrl: string;
  /** Type-stripped JavaScript by module URL, from an earlier thread. */
  stripped: Record<string, string>;
}

/** Where a thread leaves the modules it stripped, for its `ready` message. */
export const STRIPPED_MODULES = Symbol.for('edge-task-worker.stripped-modules');

// Plain JavaScript in a string: it runs as the thread's eval'd entry, before any loader (and
// must not go through a bundler's transform, as a serialised function would under vitest).
// It reads `workerData.boot` ({@link ThreadBoot}), installs a synchronous module hook, and
// imports the entry module. The hook serves known modules from the map, strips `.ts` ES modules
// itself otherwise (recording them under the STRIPPED_MODULES symbol for the `ready` message),
// and leaves everything else to Node (all of it under --experimental-transform-types, which
// transforms rather than strips). stripTypeScriptTypes warns once per thread that it is
// experimental; Node's own stripping, which it stands in for, does not, so that one warning is
// dropped.
/** The source a thread is started with (`new Worker(source, { eval: true })`). */
export const THREAD_BOOT_SOURCE = `
const { workerData } = process.getBuiltinModule('node:worker_threads');
const nodeModule = process.getBuiltinModule('node:module');
const { entryUrl, stripped } = workerData.boot;
const strippedHere = {};
globalThis[Symbol.for('edge-task-worker.stripped-modules')] = strippedHere;
function strip(source) {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (warning, ...rest) {
    if (String(warning).includes('stripTypeScriptTypes')) return;
    return emitWarning.call(process, warning, ...rest);
  };
  try {
    return nodeModule.stripTypeScriptTypes(source);
  } finally {
    process.emitWarning = emitWarning;
  }
}
const transforms = process.execArgv.includes('--experimental-transform-types');
if (!transforms && typeof nodeModule.registerHooks === 'function' && typeof nodeModule.stripTypeScriptTypes === 'function') {
  nodeModule.registerHooks({
    load(url, context, nextLoad) {
      const known = stripped[url];
      if (known !== undefined) return { format: 'module', source: known, shortCircuit: true };
      const loaded = nextLoad(url, context);
      if (loaded.format !== 'module-typescript' || loaded.source == null) return loaded;
      const text = typeof loaded.source === 'string' ? loaded.source : new TextDecoder().decode(loaded.source);
      const source = strip(text);
      strippedHere[url] = source;
      return { format: 'module', source, shortCircuit: true };
    },
  });
}
import(entryUrl);
`;

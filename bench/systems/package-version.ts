/**
 * Reads the installed version of a dependency from its package.json (some packages do not
 * export `./package.json`, so it is read from node_modules directly).
 * @module
 */
import { readFileSync } from 'node:fs';

/** The `version` field of `node_modules/<name>/package.json`, or "unknown". */
export function installedVersion(name: string): string {
  try {
    const url = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Loads a tasks module: a `defineTasks` registry as its default export (or named `tasks`).
 * TypeScript modules load through Node's type stripping (Node >= 22.18); module-hooks.ts lets a
 * `.ts` file with `import`s load in a `"type": "commonjs"` project, and lets a file in a
 * checkout import `edge-task-worker` without a build. This runs in every thread that loads a
 * tasks module (the main thread with `isolation: 'none'`, else each execution thread).
 * @module
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TaskRegistry } from '../../src/core/define-tasks.ts';
import type { ScheduleDefinition } from '../../src/core/schedule.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { registerModuleHooks } from './module-hooks.ts';

/** Resolves `--tasks` (a path relative to the working directory) to a file: URL. */
export function tasksModuleUrl(path: string): string {
  const file = resolve(path);
  if (!existsSync(file)) throw new ConfigError(`Tasks module not found: ${path} (resolved to ${file}).`);
  return pathToFileURL(file).href;
}

/** What a tasks module declares as `export const schedules = defineSchedules({...})`. */
export type DeclaredSchedules = Record<string, ScheduleDefinition>;

/**
 * The module's `schedules` export, if any (the module is cached: this does not load it again).
 * It must be plain data (it crosses from an execution thread to the main thread).
 */
export async function loadDeclaredSchedules(url: string): Promise<DeclaredSchedules | undefined> {
  const module = (await import(url)) as { schedules?: unknown };
  if (module.schedules === undefined) return undefined;
  if (typeof module.schedules !== 'object' || module.schedules === null) {
    throw new ConfigError(`${url}: "schedules" must be a defineSchedules({...}) object.`);
  }
  return JSON.parse(JSON.stringify(module.schedules)) as DeclaredSchedules;
}

/** Imports the registry and checks its shape. */
export async function loadTasks(url: string): Promise<TaskRegistry> {
  registerModuleHooks();
  const module = (await import(url)) as { default?: unknown; tasks?: unknown };
  const registry = module.default ?? module.tasks;
  if (typeof registry !== 'object' || registry === null) {
    throw new ConfigError(
      `${url} must export a defineTasks({...}) registry as its default export (or as "tasks").`,
    );
  }
  for (const [name, handler] of Object.entries(registry)) {
    if (typeof handler !== 'function') {
      throw new ConfigError(`${url}: task "${name}" is ${typeof handler}, expected a function.`);
    }
  }
  return registry as TaskRegistry;
}

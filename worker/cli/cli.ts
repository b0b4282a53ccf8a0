/**
 * The `task-worker` command line: dispatches to one file per command under `commands/`.
 * @module
 */
import { TaskWorkerError } from '../../src/core/errors.ts';
import { devCommand } from './commands/dev.ts';
import { migrateCommand } from './commands/migrate.ts';
import { runCommand } from './commands/run.ts';
import { statusCommand } from './commands/status.ts';
import { sweepCommand } from './commands/sweep.ts';
import type { Command } from './command.ts';

export type { Command } from './command.ts';

const commands: Record<string, Command> = {
  run: runCommand,
  migrate: migrateCommand,
  sweep: sweepCommand,
  status: statusCommand,
  dev: devCommand,
};

function help(): string {
  const lines = Object.entries(commands).map(([name, command]) => `  ${name.padEnd(10)} ${command.summary}`);
  return `Usage: task-worker <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "task-worker <command> --help" for a command's options.`;
}

/** Runs the CLI and returns the exit code (0 success, 1 failure, 2 usage error). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`Unknown command "${name}".\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof TaskWorkerError || (error instanceof Error && error.name === 'DatabaseError')) {
      console.error(`task-worker ${name}: ${error.message}`);
    } else if (
      error instanceof TypeError &&
      'code' in error &&
      String(error.code).startsWith('ERR_PARSE_ARGS')
    ) {
      console.error(`task-worker ${name}: ${error.message}\n\n${command.usage}`);
      return 2;
    } else {
      console.error(error);
    }
    return 1;
  }
}

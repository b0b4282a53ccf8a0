/** What one `task-worker` subcommand is: its help and its run function. */
export interface Command {
  summary: string;
  usage: string;
  /** Runs the command; resolves with the exit code (0 success, 1 failure, 2 usage error). */
  run(argv: string[]): Promise<number>;
}

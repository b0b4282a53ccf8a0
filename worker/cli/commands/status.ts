import { parseArgs } from 'node:util';
import { ConfigError } from '../../../src/core/errors.ts';
import { createPgDatabase } from '../../../src/adapters/node/pg-database.ts';
import { DEFAULT_SCHEMA } from '../../../src/core/schema-name.ts';
import type { Command } from '../command.ts';
import { databaseOptions } from '../database-options.ts';
import { formatStatus, readStatus } from '../status-report.ts';

const usage = `Usage: task-worker status [--database-url URL] [--schema NAME] [--watch [S]] [--json]

A summary for terminals: each queue's tasks by status, how long its oldest due task has waited,
the share of tasks that failed among those finished in the last hour, the tasks each worker
runs, and which worker leads maintenance. It counts the whole table, like GET /stats.

Options:
  --database-url URL  Postgres URL (default: $DATABASE_URL)
  --schema NAME       (default: $TASK_WORKER_SCHEMA or ${DEFAULT_SCHEMA})
  --watch [S]         refresh in place every S seconds (default: 2) until Ctrl-C
  --json              print the summary as JSON instead`;

const CLEAR = '\u001b[H\u001b[2J';

/** The watch interval of `--watch`, `--watch 5` (the value arrives as the next argument). */
function watchSeconds(argv: string[]): { argv: string[]; watch: number | undefined } {
  const at = argv.indexOf('--watch');
  if (at === -1) return { argv, watch: undefined };
  const next = argv[at + 1];
  const hasValue = next !== undefined && !next.startsWith('--');
  const watch = hasValue ? Number(next) : 2;
  if (!(watch >= 0.2) || !Number.isFinite(watch)) {
    throw new ConfigError(`--watch takes seconds (0.2 or more), got "${next}".`);
  }
  return { argv: [...argv.slice(0, at), ...argv.slice(at + (hasValue ? 2 : 1))], watch };
}

export const statusCommand: Command = {
  summary: 'queues, oldest waits, failure rate, running tasks per worker, the leader',
  usage,
  async run(input) {
    const { argv, watch } = watchSeconds(input);
    const { values } = parseArgs({
      args: argv,
      options: { 'database-url': { type: 'string' }, schema: { type: 'string' }, json: { type: 'boolean' } },
      strict: true,
    });
    const { url, schema } = databaseOptions(values);
    const db = createPgDatabase({ connectionString: url, max: 4, applicationName: 'task-worker status' });
    const print = async () => {
      const report = await readStatus(db, schema).catch((error: unknown) => {
        // 42P01: a table of the schema is missing.
        if ((error as { code?: string }).code !== '42P01') throw error;
        throw new ConfigError(`Schema "${schema}" is not migrated (or too old): run task-worker migrate.`);
      });
      return values.json ? JSON.stringify(report, null, 2) : formatStatus(report, schema);
    };
    try {
      if (watch === undefined) {
        console.log(await print());
        return 0;
      }
      const stop = new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      for (;;) {
        process.stdout.write(`${process.stdout.isTTY ? CLEAR : '\n'}${await print()}\n`);
        const tick = new Promise<'tick'>((resolve) =>
          setTimeout(() => resolve('tick'), watch * 1000).unref(),
        );
        if ((await Promise.race([stop, tick])) !== 'tick') return 0;
      }
    } finally {
      await db.close();
    }
  },
};

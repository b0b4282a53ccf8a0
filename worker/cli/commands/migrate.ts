import { parseArgs } from 'node:util';
import { migrate } from '../../../src/core/migrations/migrate.ts';
import { DEFAULT_SCHEMA } from '../../../src/core/schema-name.ts';
import { createPgDatabase } from '../../../src/adapters/node/pg-database.ts';
import { waitSecondsOption, withDatabaseWait } from '../../container/database-wait.ts';
import { createLogger } from '../../container/logger.ts';
import type { Command } from '../command.ts';
import { databaseOptions } from '../database-options.ts';

/** Seconds `task-worker migrate` waits for the database by default. */
const DEFAULT_WAIT_SECONDS = 60;

const usage = `Usage: task-worker migrate [--database-url URL] [--schema NAME] [--wait-for-database S]

Applies pending migrations. Safe to run twice and from several processes at once. Started
while Postgres is down or still starting, it waits for it (retrying with back-off, a
database_unavailable line on stderr each time), then migrates; a wrong password or database
name fails at once.

Options:
  --database-url URL     Postgres URL (default: $DATABASE_URL)
  --schema NAME          schema holding the tables (default: $TASK_WORKER_SCHEMA or ${DEFAULT_SCHEMA})
  --wait-for-database S  seconds to wait for the database, or forever (default: ${DEFAULT_WAIT_SECONDS}; 0: no
                         waiting)`;

export const migrateCommand: Command = {
  summary: 'apply pending database migrations',
  usage,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        'database-url': { type: 'string' },
        schema: { type: 'string' },
        'wait-for-database': { type: 'string' },
      },
      strict: true,
    });
    const { url, schema } = databaseOptions(values);
    const limitSeconds = waitSecondsOption(values['wait-for-database'], DEFAULT_WAIT_SECONDS);
    // Its output is for people (stdout); the waits go to stderr like its errors.
    const logger = createLogger({ write: (line) => process.stderr.write(line) });
    // Two connections: a no-transaction migration renews its lease beside a long statement.
    const db = createPgDatabase({ connectionString: url, max: 2, applicationName: 'task-worker migrate' });
    try {
      // Migrating is safe to repeat, so a database that goes away part-way is waited for too.
      const result = await withDatabaseWait(() => migrate(db, { schema }), { limitSeconds, logger });
      console.log(
        result.applied.length > 0
          ? `Applied migration${result.applied.length > 1 ? 's' : ''} ${result.applied.join(', ')} to schema "${schema}" (now at version ${result.version}).`
          : `Schema "${schema}" is up to date (version ${result.version}).`,
      );
      return 0;
    } finally {
      await db.close();
    }
  },
};

import { parseArgs } from 'node:util';
import { ConfigError } from '../../../src/core/errors.ts';
import { migrate } from '../../../src/core/migrations/migrate.ts';
import { DEFAULT_SCHEMA } from '../../../src/core/schema-name.ts';
import { createPgDatabase } from '../../../src/adapters/node/pg-database.ts';
import type { Command } from '../command.ts';

const usage = `Usage: task-worker migrate [--database-url URL] [--schema NAME]

Applies pending migrations. Safe to run twice and from several processes at once.

Options:
  --database-url URL  Postgres URL (default: $DATABASE_URL)
  --schema NAME       schema holding the tables (default: $TASK_WORKER_SCHEMA or ${DEFAULT_SCHEMA})`;

export const migrateCommand: Command = {
  summary: 'apply pending database migrations',
  usage,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: { 'database-url': { type: 'string' }, schema: { type: 'string' } },
      strict: true,
    });
    const url = values['database-url'] ?? process.env.DATABASE_URL;
    if (!url) throw new ConfigError('No database: pass --database-url or set DATABASE_URL.');
    const schema = values.schema ?? process.env.TASK_WORKER_SCHEMA ?? DEFAULT_SCHEMA;
    const db = createPgDatabase({ connectionString: url, max: 1, applicationName: 'task-worker migrate' });
    try {
      const result = await migrate(db, { schema });
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

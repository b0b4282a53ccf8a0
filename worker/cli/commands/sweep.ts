import { parseArgs } from 'node:util';
import { ConfigError } from '../../../src/core/errors.ts';
import { createPgDatabase } from '../../../src/adapters/node/pg-database.ts';
import { DEFAULT_SCHEMA } from '../../../src/core/schema-name.ts';
import { createMaintainer } from '../../maintenance/maintainer.ts';
import type { Command } from '../command.ts';
import { databaseOptions } from '../database-options.ts';

const usage = `Usage: task-worker sweep [--database-url URL] [--schema NAME]

Returns tasks whose lease expired (their worker died) to PENDING, or FAILED when no retries
are left, then exits, whoever leads maintenance (safe beside it: rows in use are skipped).
Running workers elect one of them to do this as leases expire.

Options:
  --database-url URL  Postgres URL (default: $DATABASE_URL)
  --schema NAME       (default: $TASK_WORKER_SCHEMA or ${DEFAULT_SCHEMA})
  --retention-days N  also delete final tasks created more than N days ago`;

export const sweepCommand: Command = {
  summary: 'recover tasks whose worker died (expired leases), once',
  usage,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        'database-url': { type: 'string' },
        schema: { type: 'string' },
        'retention-days': { type: 'string' },
      },
      strict: true,
    });
    const { url, schema } = databaseOptions(values);
    const days = values['retention-days'] === undefined ? undefined : Number(values['retention-days']);
    if (days !== undefined && !(days > 0))
      throw new ConfigError('--retention-days must be a positive number of days.');
    const db = createPgDatabase({ connectionString: url, max: 1, applicationName: 'task-worker sweep' });
    try {
      // One pass of what every running worker's maintainer does on its interval.
      await createMaintainer({
        db,
        schema,
        retentionDays: days,
        onSwept(swept) {
          const requeued = swept.filter((t) => t.status === 'PENDING').length;
          console.log(
            `Swept schema "${schema}": ${requeued} task(s) back to PENDING, ${swept.length - requeued} FAILED (no retries left).`,
          );
        },
        onDeleted(deleted) {
          console.log(`Deleted ${deleted} final task(s) created more than ${days} day(s) ago.`);
        },
      }).runOnce();
      return 0;
    } finally {
      await db.close();
    }
  },
};

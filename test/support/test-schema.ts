/**
 * Gives a test file its own migrated schema on the shared test Postgres. The schema is
 * dropped after the file's tests, unless one failed: then it is kept to inspect, and its
 * name is printed.
 */
import type { Pool } from 'pg';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';
import type { Database } from '../../src/core/database.ts';
import { migrate } from '../../src/core/migrations/migrate.ts';
import { createPgDatabase } from '../../src/adapters/node/pg-database.ts';
import { uniqueSchemaName } from './schema-name.ts';

export interface TestSchema {
  /** Unique per test file, e.g. `t_client_k3x9`. */
  readonly schema: string;
  readonly databaseUrl: string;
  /** A node-postgres driver on the test database (valid inside tests). */
  readonly db: Database & { pool: Pool };
}

export { uniqueSchemaName };

export function useTestSchema(prefix: string, options: { migrate?: boolean } = {}): TestSchema {
  const schema = uniqueSchemaName(prefix);
  const databaseUrl = inject('databaseUrl');
  let db: TestSchema['db'] | undefined;
  let failed = false;

  beforeAll(async () => {
    db = createPgDatabase({ connectionString: databaseUrl, max: 20 });
    if (options.migrate !== false) await migrate(db, { schema });
  });
  afterEach((context) => {
    if (context.task.result?.state === 'fail') failed = true;
  });
  afterAll(async () => {
    if (!db) return;
    if (failed) console.warn(`Kept schema ${schema} of a failed test for inspection.`);
    else await db.query(`drop schema if exists "${schema}" cascade`);
    await db.close();
  });

  return {
    schema,
    databaseUrl,
    get db() {
      if (!db) throw new Error('useTestSchema: db is only available inside tests');
      return db;
    },
  };
}

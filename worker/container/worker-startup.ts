/**
 * Start-up, side by side: the first thread loads the tasks module while the schema version is
 * read and the table analysed. A worker refuses a schema that is not at its migration; if
 * anything fails, what was started is closed before the error is thrown.
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import { SchemaError } from '../../src/core/errors.ts';
import { LATEST_MIGRATION, schemaVersion } from '../../src/core/migrations/migrate.ts';
import type { WorkerStatements } from '../../src/core/sql/worker-statements.ts';
import type { Executor } from './executor.ts';

export interface StartUpOptions {
  db: Database;
  sql: WorkerStatements;
  schema: string;
  executor: Executor;
  /** Closes what the worker opened (executor, owned database) when start-up fails. */
  close: () => Promise<void>;
}

export interface StartedUp {
  /** Task names the tasks module registers. */
  taskNames: string[];
  /** The background ANALYZE; shutdown waits for it before closing the database. Never rejects. */
  analyzed: Promise<unknown>;
}

/** Starts the executor and checks the schema; rejects (after closing) when either fails. */
export async function startUp({ db, sql, schema, executor, close }: StartUpOptions): Promise<StartedUp> {
  // Read while the threads load; checked before anything else touches the table.
  const versionRead = schemaVersion(db, schema);
  versionRead.catch(() => undefined);
  const loading = executor.start();
  loading.catch(() => undefined);
  const abandon = async (error: unknown): Promise<never> => {
    await loading.catch(() => undefined);
    await close();
    throw error;
  };
  const version = await versionRead.catch(abandon);
  if (version !== LATEST_MIGRATION) await abandon(schemaMismatch(schema, version));
  // Fresh planner statistics for the claim, in the background: claims planned before it ends
  // are re-planned when it does (ANALYZE invalidates cached plans), and on a big table it can
  // take longer than the whole start-up. Best effort: a role that does not own the table
  // cannot analyse it.
  const analyzed = db.query(sql.taskTableAnalyze).catch(() => undefined);
  const taskNames = await loading.catch(async (error: unknown) => {
    await analyzed;
    return await abandon(error);
  });
  return { taskNames, analyzed };
}

function schemaMismatch(schema: string, version: number): SchemaError {
  return version > LATEST_MIGRATION
    ? new SchemaError(
        'SCHEMA_TOO_NEW',
        `Schema "${schema}" is at version ${version}, newer than this worker (${LATEST_MIGRATION}); upgrade edge-task-worker.`,
      )
    : new SchemaError(
        'MIGRATION_FAILED',
        `Schema "${schema}" is at version ${version}, expected ${LATEST_MIGRATION}: run "task-worker migrate" first.`,
      );
}

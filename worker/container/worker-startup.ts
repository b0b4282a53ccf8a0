/**
 * Start-up, side by side: the first thread loads the tasks module while the schema is checked
 * (waiting for the database first, if allowed) and the table analysed. A worker refuses a schema
 * older than its latest migration, or newer with a breaking migration it does not know
 * (schema-compatibility.ts); if anything fails, what was started is closed before the error is
 * thrown. Then the schedules the tasks module declares are synced (schedule-sync.ts).
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import { checkSchemaCompatible } from '../../src/core/migrations/migrate.ts';
import type { WorkerStatements } from '../../src/core/sql/worker-statements.ts';
import { withDatabaseWait } from './database-wait.ts';
import { syncDeclaredSchedules } from './schedule-sync.ts';
import type { Executor } from './executor.ts';
import { silentLogger, type Logger } from './logger.ts';

export interface StartUpOptions {
  db: Database;
  sql: WorkerStatements;
  schema: string;
  executor: Executor;
  /** Closes what the worker opened (executor, owned database) when start-up fails. */
  close: () => Promise<void>;
  /** Seconds to wait for an unreachable or starting database (default: 0, no waiting). */
  waitForDatabase?: number;
  /** Ends the wait for the database (startUp then rejects with its reason). */
  signal?: AbortSignal;
  /** Where the waits and a newer compatible schema are logged. */
  logger?: Logger;
}

export interface StartedUp {
  /** Task names the tasks module registers. */
  taskNames: string[];
  /** The background ANALYZE; shutdown waits for it before closing the database. Never rejects. */
  analyzed: Promise<unknown>;
}

/** Starts the executor and checks the schema; rejects (after closing) when either fails. */
export async function startUp(options: StartUpOptions): Promise<StartedUp> {
  const { db, sql, schema, executor, close, logger } = options;
  // Checked while the threads load, before anything else touches the table.
  const checked = withDatabaseWait(() => checkSchemaCompatible(db, schema), {
    limitSeconds: options.waitForDatabase ?? 0,
    signal: options.signal,
    logger,
  });
  checked.catch(() => undefined);
  const loading = executor.start();
  loading.catch(() => undefined);
  const abandon = async (error: unknown): Promise<never> => {
    await loading.catch(() => undefined);
    await close();
    throw error;
  };
  const { version, latest } = await checked.catch(abandon);
  if (version > latest) {
    logger?.log('info', 'schema_newer_compatible', {
      schema,
      version,
      workerVersion: latest,
      note: 'migrated by a newer version; none of its newer migrations is breaking',
    });
  }
  // Fresh planner statistics for the claim, in the background: claims planned before it ends
  // are re-planned when it does (ANALYZE invalidates cached plans), and on a big table it can
  // take longer than the whole start-up. Best effort: a role that does not own the table
  // cannot analyse it.
  const analyzed = db.query(sql.taskTableAnalyze).catch(() => undefined);
  const taskNames = await loading.catch(async (error: unknown) => {
    await analyzed;
    return await abandon(error);
  });
  const log = logger ?? silentLogger;
  await syncDeclaredSchedules({ db, schema, declared: executor.declaredSchedules, logger: log });
  return { taskNames, analyzed };
}

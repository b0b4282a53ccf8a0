/**
 * The container worker's hold on its tasks: the lease keeper extends the leases of running and
 * buffered tasks; a lease it could not extend is either a cancelled row (the run is stopped) or
 * a lost lease (the run is aborted), which cancelled-runs.ts tells apart.
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import type { WorkerStatements } from '../../src/core/sql/worker-statements.ts';
import { cancelledRuns, type CancelledRuns } from './cancelled-runs.ts';
import { LeaseKeeper } from './lease-keeper.ts';
import type { Logger } from './logger.ts';
import type { Producer } from './producer.ts';
import type { RunningTasks } from './running-tasks.ts';

/** The lease keeper of the running and buffered tasks, and the cancellation checks it uses. */
export function createLeaseKeeping(context: {
  db: Database;
  sql: WorkerStatements;
  schema: string;
  workerId: string;
  now: () => string | null;
  logger: Logger;
  lease: number;
  running: RunningTasks;
  producer: Producer;
}): { cancels: CancelledRuns; leaseKeeper: LeaseKeeper } {
  const { db, schema, running, producer, logger } = context;
  const held = () => [...running.owned(), ...producer.buffered()];
  const cancels = cancelledRuns({ db, schema, running, logger, held });
  const leaseKeeper = new LeaseKeeper({
    db,
    sql: context.sql,
    workerId: context.workerId,
    now: context.now,
    lease: context.lease,
    owned: held,
    // Cancelled rows stop their runs; other lost leases abort them (cancelled-runs.ts).
    onLost: (tasks) => void cancels.lost(tasks),
    onError: (error) => logger.log('warn', 'heartbeat_failed', { error: String(error) }),
  });
  return { cancels, leaseKeeper };
}

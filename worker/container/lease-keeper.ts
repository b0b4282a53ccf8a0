/**
 * The lease keeper: heartbeats that extend the leases of the tasks this worker holds (running
 * and claimed-but-waiting), every third of the lease, in one statement fenced by each claim's
 * lease token. Tasks whose lease was not extended (cancelled, swept after a lost lease and now
 * another attempt's, or a claim lost in a Postgres crash and claimed again) go to `onLost`, so
 * their runs can be aborted. The heartbeat cannot tell a cancelled row from a lost lease (its
 * fence needs `PROGRESS`): `onLost` reads the rows to say which (cancelled-runs.ts). For a
 * cancellation this is the fallback of the `task_cancelled` notification.
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import type { WorkerStatements } from '../../src/core/sql/worker-statements.ts';
import { startPeriodic, type Periodic } from '../maintenance/periodic.ts';
import type { ClaimedTask } from './producer.ts';

export interface LeaseKeeperOptions {
  db: Database;
  sql: WorkerStatements;
  workerId: string;
  /** Seconds each heartbeat extends a lease by, from now. */
  lease: number;
  /** Milliseconds between heartbeats (default: a third of the lease). */
  intervalMs?: number;
  /** The clock handed to SQL (ISO 8601); null means the database clock. */
  now: () => string | null;
  /** The tasks whose leases to extend. */
  owned: () => readonly ClaimedTask[];
  /** Tasks of a heartbeat whose lease was not extended (cancelled, or the lease was lost). */
  onLost: (tasks: ClaimedTask[]) => void;
  /** A heartbeat failed (the next one tries again). */
  onError: (error: unknown) => void;
}

export class LeaseKeeper {
  private periodic: Periodic | undefined;
  private readonly o: LeaseKeeperOptions;

  constructor(options: LeaseKeeperOptions) {
    this.o = options;
  }

  /** Starts the heartbeats, the first one interval from now. Idempotent. */
  start(): void {
    this.periodic ??= startPeriodic(() => this.beat(), this.o.intervalMs ?? (this.o.lease * 1000) / 3);
  }

  /** Stops the heartbeats; resolves once the one in flight, if any, settled. */
  async stop(): Promise<void> {
    const stopping = this.periodic?.stop();
    this.periodic = undefined;
    await stopping;
  }

  /** One heartbeat now. Never rejects (failures go to `onError`). */
  async beat(): Promise<void> {
    const { db, sql, workerId, lease, now, onLost, onError } = this.o;
    const owned = [...this.o.owned()];
    if (owned.length === 0) return;
    try {
      const { rows } = await db.query(sql.taskHeartbeat, [
        owned.map((t) => t.id),
        owned.map((t) => t.attempt),
        workerId,
        lease,
        now(),
        owned.map((t) => t.token),
      ]);
      // By token: two runs of one task id (a lost claim, claimed again) may both be here.
      const kept = new Set(rows.map((row) => row.token as string));
      const lost = owned.filter((task) => !kept.has(task.token));
      if (lost.length > 0) onLost(lost);
    } catch (error) {
      onError(error);
    }
  }
}

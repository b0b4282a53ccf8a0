/**
 * The summary `task-worker status` prints: queues with their depth by status, the oldest due
 * task's wait, the failure rate of the last hour, running tasks per worker, and the leader of
 * maintenance. Reads `/stats`' query and three small ones (src/core/sql/status-statements.ts).
 * @module
 */
import type { Database } from '../../src/core/database.ts';
import { statusStatements } from '../../src/core/sql/status-statements.ts';
import { taskQueryStatements } from '../../src/core/sql/task-query-statements.ts';

interface QueueLine {
  queue: string;
  pending: number;
  due: number;
  running: number;
  failed: number;
  completed: number;
  /** Seconds the longest-waiting due task has waited (0 when none is due). */
  oldestDueSeconds: number;
  /** Failed among the tasks that finished in the last hour, 0 to 1 (null when none finished). */
  failureRate: number | null;
}

/** Everything the summary shows, read at one moment. */
export interface StatusReport {
  at: Date;
  queues: QueueLine[];
  workers: Array<{ workerId: string; running: number; leaseUntil: Date }>;
  leader: { holder: string; leaseUntil: Date; elected: Date; current: boolean } | null;
}

const time = (value: unknown): Date => new Date(value as string | Date);

/** Reads the report of `schema`. */
export async function readStatus(db: Database, schema: string): Promise<StatusReport> {
  const stats = taskQueryStatements(schema);
  const status = statusStatements(schema);
  const [counts, due, running, leader] = await Promise.all([
    db.query(stats.taskStats),
    db.query(status.statusDueByQueue),
    db.query(status.statusRunningByWorker),
    db.query(status.statusLeader),
  ]);
  const now = time(leader.rows[0]!.now);
  const queues = new Map<string, QueueLine & { failedHour: number; finishedHour: number }>();
  const line = (queue: string) => {
    let found = queues.get(queue);
    if (!found) {
      const empty = { pending: 0, due: 0, running: 0, failed: 0, completed: 0, oldestDueSeconds: 0 };
      found = { queue, ...empty, failureRate: null, failedHour: 0, finishedHour: 0 };
      queues.set(queue, found);
    }
    return found;
  };
  for (const row of counts.rows) {
    const entry = line(row.queue as string);
    const count = Number(row.count);
    const lastHour = Number(row.last_60m);
    if (row.status === 'PENDING') entry.pending = count;
    if (row.status === 'PROGRESS') entry.running = count;
    if (row.status === 'FAILED') {
      entry.failed = count;
      entry.failedHour = lastHour;
    }
    if (row.status === 'COMPLETED') entry.completed = count;
    if (row.status === 'FAILED' || row.status === 'COMPLETED') entry.finishedHour += lastHour;
  }
  for (const row of due.rows) {
    const entry = line(row.queue as string);
    entry.due = Number(row.due);
    entry.oldestDueSeconds = Math.max(0, (now.getTime() - time(row.oldest_due).getTime()) / 1000);
  }
  for (const entry of queues.values()) {
    entry.failureRate = entry.finishedHour > 0 ? entry.failedHour / entry.finishedHour : null;
  }
  const held = leader.rows[0]!;
  return {
    at: now,
    queues: [...queues.values()].map(({ failedHour: _f, finishedHour: _h, ...rest }) => rest),
    workers: running.rows.map((row) => ({
      workerId: row.worker_id as string,
      running: Number(row.running),
      leaseUntil: time(row.lease_until),
    })),
    leader: held.holder
      ? {
          holder: held.holder as string,
          leaseUntil: time(held.lease_until),
          elected: time(held.elected_at),
          current: time(held.lease_until) > now,
        }
      : null,
  };
}

function seconds(value: number): string {
  if (value < 120) return `${value.toFixed(value < 10 ? 1 : 0)} s`;
  if (value < 7200) return `${Math.round(value / 60)} min`;
  return `${Math.round(value / 3600)} h`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const format = (row: string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(format)].join('\n');
}

/** The report as the text `task-worker status` prints. */
export function formatStatus(report: StatusReport, schema: string): string {
  const queueRows = report.queues.map((q) => [
    q.queue,
    String(q.pending),
    String(q.due),
    q.due > 0 ? seconds(q.oldestDueSeconds) : '-',
    String(q.running),
    String(q.failed),
    String(q.completed),
    q.failureRate === null ? '-' : `${(q.failureRate * 100).toFixed(1)}%`,
  ]);
  const leader = report.leader
    ? `${report.leader.holder} (${report.leader.current ? `lease ${seconds((report.leader.leaseUntil.getTime() - report.at.getTime()) / 1000)} left` : 'lease ended: elected again at the next look'})`
    : 'none elected yet';
  return [
    `schema "${schema}" at ${report.at.toISOString()}`,
    '',
    queueRows.length === 0
      ? 'no tasks'
      : table(
          ['queue', 'pending', 'due', 'oldest due', 'running', 'failed', 'completed', 'failed 1 h'],
          queueRows,
        ),
    '',
    report.workers.length === 0
      ? 'no task running'
      : table(
          ['worker', 'running'],
          report.workers.map((w) => [w.workerId, String(w.running)]),
        ),
    '',
    `maintenance leader: ${leader}`,
  ].join('\n');
}

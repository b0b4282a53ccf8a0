/**
 * The "anything due?" hint of a cron executor: a few Redis keys that let a Cloudflare cron
 * tick skip the database when nothing can be due, so an idle serverless Postgres can suspend.
 *
 * It is only a hint, never the truth. Writers (clients, after their insert committed) count
 * their changes; a cron tick reads the count before it asks the database and, afterwards,
 * records that count as checked along with when the database said something is next due. A
 * tick asks the database whenever the hint cannot prove there is nothing to do: a key is
 * missing (never written, flushed, expired), a change came after the last check, the recorded
 * time has come, or the hint cannot be read. A change made by a writer that does not count it
 * (a client without the hint, psql) waits until the recorded time, at most `maxAgeMs` after the
 * last check.
 * @module
 */

/** What a cron tick read from the hint. */
export interface DueHintReading {
  /** Changes counted so far. */
  changes: number;
  /** The change count the last database check saw; null when missing. */
  checked: number | null;
  /** When the last check said the database is next needed (epoch ms); null when missing. */
  nextAt: number | null;
}

/** Where the hint lives (the edge implementation: Upstash REST). */
export interface DueHint {
  /** Counts a change (tasks created or requeued), after its commit. */
  mark(): Promise<void>;
  /** Reads the hint; rejects when the store cannot be reached. */
  read(): Promise<DueHintReading>;
  /**
   * Records a database check: the change count read before it (`reading.changes`) and when the
   * database is next needed (epoch ms).
   */
  settle(reading: DueHintReading, nextAt: number): Promise<void>;
}

/** True when the reading proves nothing is due at `now`, so the tick may skip the database. */
export function hintSaysIdle(reading: DueHintReading | undefined, now: number): boolean {
  if (!reading || reading.checked === null || reading.nextAt === null) return false;
  return reading.changes === reading.checked && now < reading.nextAt;
}

/** The Redis keys of a schema's hint. */
export function dueHintKeys(schema: string): { changes: string; checked: string; nextAt: string } {
  return {
    changes: `${schema}:due-hint:changes`,
    checked: `${schema}:due-hint:checked`,
    nextAt: `${schema}:due-hint:next-at`,
  };
}

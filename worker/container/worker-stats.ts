/**
 * The container worker's counters since start (`WorkerHandle.stats()`, the status line and
 * the `worker_stopped` log line).
 * @module
 */

/** Counters since start. */
export interface WorkerStats {
  running: number;
  completed: number;
  failed: number;
  retried: number;
  /** Write-backs refused by fencing (task cancelled or taken over after a lost lease). */
  lost: number;
}

/** All counters at zero. */
export function emptyWorkerStats(): WorkerStats {
  return { running: 0, completed: 0, failed: 0, retried: 0, lost: 0 };
}

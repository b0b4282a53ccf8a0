/**
 * A live status line on a TTY: running, completed, failed and the recent completion rate.
 * @module
 */
import type { WorkerStats } from './run-worker.ts';

export interface StatusLine {
  /** Starts showing the stats of a worker. */
  track(stats: () => WorkerStats): void;
  /** Erases the line (before a log line is written). */
  clear(): void;
  stop(): void;
}

export function startStatusLine(stream: NodeJS.WriteStream = process.stderr, intervalMs = 1000): StatusLine {
  let read: (() => WorkerStats) | undefined;
  let shown = false;
  let last = { at: Date.now(), done: 0 };
  let rate = 0;
  const clear = () => {
    if (shown) stream.write('\r\x1b[K');
    shown = false;
  };
  const timer = setInterval(() => {
    if (!read) return;
    const stats = read();
    const now = Date.now();
    const done = stats.completed + stats.failed;
    rate = ((done - last.done) * 1000) / Math.max(1, now - last.at);
    last = { at: now, done };
    clear();
    stream.write(
      `running ${stats.running} | completed ${stats.completed} | failed ${stats.failed} | retried ${stats.retried} | ${rate.toFixed(1)}/s`,
    );
    shown = true;
  }, intervalMs);
  timer.unref();
  return {
    track(stats) {
      read = stats;
    },
    clear,
    stop() {
      clearInterval(timer);
      clear();
    },
  };
}

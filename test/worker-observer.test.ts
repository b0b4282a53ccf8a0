/**
 * The worker's observers (metrics, tracing, the user's own) are called on the hot path: one
 * that throws must not stop a task or the observers after it, and is reported once, not per task.
 */
import { describe, expect, it } from 'vitest';
import { combineObservers, type WorkerObserver } from '../worker/container/worker-observer.ts';
import type { ClaimedTask } from '../src/core/execution/claim.ts';

const task: ClaimedTask = {
  ...{ id: 't1', name: 'test.noop', argsJson: '[]', kwargsJson: '{}', attempt: 1, queue: 'q' },
  ...{ priority: 0, timeout: null, token: 'k', traceContext: null, waitedMs: 3 },
};

describe('combineObservers', () => {
  it('calls every observer with the arguments; a throwing one is logged once and skipped', () => {
    const logged: Array<[string, string, Record<string, unknown> | undefined]> = [];
    const logger = {
      log: (level: string, event: string, fields?: Record<string, unknown>) =>
        logged.push([level, event, fields]),
    };
    const seen: unknown[] = [];
    const broken: WorkerObserver = {
      started() {
        throw new Error('metrics bug');
      },
    };
    const working: WorkerObserver = {
      started: (started) => seen.push(['started', started.id]),
      ended: (ended, outcome) => seen.push(['ended', ended.id, outcome.duration]),
    };
    const combined = combineObservers([broken, working], logger as never);
    combined.started(task);
    combined.started(task);
    combined.ended(task, { ok: true, duration: 0.5 });
    combined.landed([]); // no observer has it: nothing happens
    expect(seen).toEqual([
      ['started', 't1'],
      ['started', 't1'],
      ['ended', 't1', 0.5],
    ]);
    expect(logged).toEqual([['warn', 'observer_failed', { hook: 'started', error: 'Error: metrics bug' }]]);
  });
});

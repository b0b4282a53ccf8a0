/**
 * The thread pool's growth policy, decided from its state alone (the process-level behaviour
 * is in worker-threads.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { BLOCKED_MS, threadsToStart, type GrowthState } from '../worker/container/thread-growth.ts';

const state = (overrides: Partial<GrowthState>): GrowthState => ({
  threads: 1,
  loading: 0,
  size: 10,
  waiting: 5,
  heldFor: [1],
  averageMs: 0.02,
  fastThreads: 3,
  ...overrides,
});

describe('threadsToStart', () => {
  it('adds one thread at a time for sub-millisecond tasks, up to the cores left', () => {
    expect(threadsToStart(state({ threads: 1, heldFor: [0.1] }))).toBe(1);
    expect(threadsToStart(state({ threads: 2, heldFor: [0.1, 0.2] }))).toBe(1);
    expect(threadsToStart(state({ threads: 3, heldFor: [0.1, 0.2, 0.1] }))).toBe('later');
  });

  it('starts one thread per waiting task once every thread is held, up to the size', () => {
    expect(threadsToStart(state({ averageMs: 200, heldFor: [BLOCKED_MS] }))).toBe(5);
    expect(threadsToStart(state({ averageMs: 200, heldFor: [BLOCKED_MS], waiting: 40 }))).toBe(9);
    // Fast on average, but every thread is stuck now (a busy loop, a slow call): grow anyway.
    expect(threadsToStart(state({ threads: 3, heldFor: [60, 70, 80] }))).toBe(5);
  });

  it('waits while any thread is free of a long task, and asks to look again', () => {
    expect(threadsToStart(state({ averageMs: 200, heldFor: [BLOCKED_MS - 1] }))).toBe('later');
    expect(threadsToStart(state({ averageMs: undefined, threads: 2, heldFor: [500, undefined] }))).toBe(
      'later',
    );
  });

  it('starts nothing while a thread loads, when nothing waits, or at the size', () => {
    expect(threadsToStart(state({ loading: 1, threads: 2, heldFor: [500] }))).toBe(0);
    expect(threadsToStart(state({ waiting: 0, heldFor: [500] }))).toBe(0);
    expect(threadsToStart(state({ threads: 10, size: 10, heldFor: Array(10).fill(500) }))).toBe(0);
  });
});

/**
 * How many tasks go to an execution thread per message, decided from the task pace alone (the
 * pool with real threads is in executor-pool.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { batchDepth, topUpSize } from '../worker/container/thread-batching.ts';

describe('batchDepth', () => {
  it('sends slow or unknown tasks one at a time and short ones in batches', () => {
    expect(batchDepth(undefined)).toBe(1);
    expect(batchDepth(1)).toBe(1);
    expect(batchDepth(250)).toBe(1);
    expect(batchDepth(0.5)).toBe(4);
    expect(batchDepth(0.1)).toBe(16);
    expect(batchDepth(0.01)).toBe(64);
  });
});

describe('topUpSize', () => {
  it('fills an idle thread up to its depth', () => {
    expect(topUpSize(0, 64)).toBe(64);
    expect(topUpSize(0, 1)).toBe(1);
  });

  it('tops a busy thread up only once half its queue is free', () => {
    expect(topUpSize(63, 64)).toBe(0);
    expect(topUpSize(33, 64)).toBe(0);
    expect(topUpSize(32, 64)).toBe(32);
    expect(topUpSize(1, 64)).toBe(63);
    // Shallow queues still get their one free place.
    expect(topUpSize(1, 2)).toBe(1);
    expect(topUpSize(3, 4)).toBe(0);
    expect(topUpSize(2, 4)).toBe(2);
  });

  it('never sends more than the room, and nothing to a full thread', () => {
    expect(topUpSize(64, 64)).toBe(0);
    expect(topUpSize(1, 1)).toBe(0);
    expect(topUpSize(70, 64)).toBe(0);
  });
});

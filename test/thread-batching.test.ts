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
  // [queued, depth, tasks to send]
  const cases: Record<string, [number, number, number][]> = {
    'fills an idle thread up to its depth': [
      [0, 64, 64],
      [0, 1, 1],
    ],
    'tops a busy thread up only once half its queue is free': [
      [63, 64, 0],
      [33, 64, 0],
      [32, 64, 32],
      [1, 64, 63],
      // Shallow queues still get their one free place.
      [1, 2, 1],
      [3, 4, 0],
      [2, 4, 2],
    ],
    'never sends more than the room, and nothing to a full thread': [
      [64, 64, 0],
      [1, 1, 0],
      [70, 64, 0],
    ],
  };
  for (const [title, rows] of Object.entries(cases)) {
    it(title, () => {
      for (const [queued, depth, expected] of rows) expect(topUpSize(queued, depth)).toBe(expected);
    });
  }
});

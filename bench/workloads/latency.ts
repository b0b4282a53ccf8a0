/**
 * Enqueue → start latency with an idle worker. The worker is started and left idle for
 * 500 ms; then, per sample, the clock is read just before the single-enqueue call and the
 * job's handler reads it again first thing (`performance.timeOrigin + performance.now()`, the
 * same clock in every thread of the process). After the handler started, the next sample waits
 * 20 ms so the worker is idle again (its completion written back). The first 5 samples are a
 * warm-up and not counted.
 *
 * A worker that only polls would phase-lock to a fixed spacing (every sample would arrive just
 * after a poll, or just before one); its samples are spaced by a random 20–1,020 ms instead, so
 * they land anywhere in the poll interval.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile } from '../sample-stats.ts';
import type { SystemWorkloadSpec } from './system-workload.ts';

const WARM_UP = 5;
const SETTLE_MS = 500;
const SPACING_MS = 20;
const POLL_INTERVAL_MS = 1000;
const SAMPLE_TIMEOUT_MS = 10_000;

export const latencyWorkload: SystemWorkloadSpec = {
  id: 'latency',
  title: 'Enqueue → start latency, idle worker',
  describe: (sizes) =>
    `${sizes.latencySamples} samples, ${SPACING_MS} ms apart (polling only: ${sizes.pollingSamples}, 20–1,020 ms apart at random); ` +
    'from just before the enqueue call to the first line of the handler.',
  metrics: [
    { key: 'p50', label: 'p50 ms', better: 'lower', digits: 2, ratio: true, ratioLabel: 'p50' },
    { key: 'p99', label: 'p99 ms', better: 'lower', digits: 2, ratio: true, ratioLabel: 'p99' },
    { key: 'max', label: 'max ms', better: 'lower', digits: 1 },
    { key: 'enqueueP50', label: 'enqueue call p50 ms', better: 'lower', digits: 2 },
    { key: 'afterEnqueueP50', label: 'after enqueue p50 ms', better: 'lower', digits: 2 },
  ],
  async run({ system, mode, sizes, progress }) {
    const polling = mode === 'polling';
    const samples = polling ? sizes.pollingSamples : sizes.latencySamples;
    const waiting = new Map<number, (startedAt: number) => void>();
    const worker = await system.startWorker((i, startedAt) => {
      waiting.get(i)?.(startedAt);
      waiting.delete(i);
    });
    try {
      await sleep(SETTLE_MS);
      const latencies: number[] = [];
      const enqueueDurations: number[] = [];
      const afterEnqueue: number[] = [];
      for (let i = 0; i < WARM_UP + samples; i++) {
        const started = new Promise<number>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`sample ${i}: the handler did not start within ${SAMPLE_TIMEOUT_MS} ms`)),
            SAMPLE_TIMEOUT_MS,
          );
          waiting.set(i, (at) => {
            clearTimeout(timer);
            resolve(at);
          });
        });
        // Should the enqueue throw, the timer's rejection must not go unhandled.
        started.catch(() => undefined);
        const before = performance.timeOrigin + performance.now();
        await system.enqueue({ kind: 'stamp', i });
        const returned = performance.timeOrigin + performance.now();
        const startedAt = await started;
        if (i >= WARM_UP) {
          latencies.push(startedAt - before);
          enqueueDurations.push(returned - before);
          afterEnqueue.push(startedAt - returned);
        }
        if (i % 10 === 0) progress.detail(`sample ${Math.max(0, i - WARM_UP)}/${samples}`);
        await sleep(polling ? SPACING_MS + Math.random() * POLL_INTERVAL_MS : SPACING_MS);
      }
      return {
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        max: Math.max(...latencies),
        mean: latencies.reduce((sum, value) => sum + value, 0) / latencies.length,
        // The split: the enqueue call itself (insert + commit, + publish), and the rest (wake-up,
        // claim, hand-over to the handler; negative when a handler starts before the call returns).
        enqueueP50: percentile(enqueueDurations, 50),
        afterEnqueueP50: percentile(afterEnqueue, 50),
      };
    } finally {
      await worker.stop();
    }
  },
};

/**
 * The seam every queue library under test implements, so that each workload is written once
 * and measures every system the same way (same job shapes, same timers, same completion check).
 * @module
 */

/** The libraries compared by the benchmark. */
export const SYSTEM_NAMES = ['edge-task-worker', 'graphile-worker', 'pg-boss', 'bullmq'] as const;
export type SystemName = (typeof SYSTEM_NAMES)[number];

/** Workloads that run a system in some mode (the claim-cost workload is ours only). */
export const SYSTEM_WORKLOADS = [
  'drain',
  'drain-c1',
  'latency',
  'enqueue-single',
  'enqueue-bulk',
  'memory',
  'busy-memory',
  'idle',
] as const;
export type SystemWorkload = (typeof SYSTEM_WORKLOADS)[number];

/**
 * A peer's mode named `…-defaults` runs it at its defaults (or without its batching), for
 * reference: only with `--peer-defaults`, and never the peer of the ratios the docs quote, which
 * compare every system at its best settings.
 */
export function isPeerDefaultsMode(mode: string): boolean {
  return mode.endsWith('-defaults');
}

/** How long a `sleep` job's handler waits (the busy-memory workload). */
export const SLEEP_JOB_MS = 200;

/** Where the systems put their data; shared by every system of one run. */
export interface BenchEnvironment {
  /** Postgres URL (trust auth is fine). */
  databaseUrl: string;
  /** Redis URL with the database number the bench may write to. */
  redisUrl: string;
}

/**
 * A job of the benchmark. `noop` does nothing; `stamp` reports the moment its handler started
 * (ms on the `performance.timeOrigin + performance.now()` clock), which the latency workload
 * compares with the moment just before the enqueue call; `sleep` waits SLEEP_JOB_MS (a job that
 * keeps its slot busy, as real work or I/O does).
 */
export interface BenchJob {
  kind: 'noop' | 'stamp' | 'sleep';
  /** Sequence number, carried as the job's payload (`{ i }`). */
  i: number;
}

/** Receives the start stamps of `stamp` jobs. */
export type StampListener = (i: number, startedAt: number) => void;

/** A worker started by {@link QueueSystem.startWorker}. */
export interface RunningWorker {
  /** Stops it and waits until it has stopped (its jobs are all written back). */
  stop(): Promise<void>;
}

/** One system in one mode, on its own namespace (a Postgres schema, or a Redis key prefix). */
export interface QueueSystem {
  /** Creates the namespace (tables, queue) when `fresh`; otherwise attaches to an existing one. */
  open(options?: { fresh?: boolean }): Promise<void>;
  /** Removes the namespace (unless `keep`) and closes every connection the system opened. */
  close(options?: { keep?: boolean }): Promise<void>;
  /** Enqueues one job with one call of the public single-enqueue API. */
  enqueue(job: BenchJob): Promise<void>;
  /** Enqueues many jobs with one call of the public bulk API. */
  enqueueMany(jobs: readonly BenchJob[]): Promise<void>;
  /**
   * Jobs completed so far as the system records them (a committed row, a deleted row, the
   * completed set in Redis), counted over the jobs this instance enqueued.
   */
  countCompleted(): Promise<number>;
  /**
   * True once no job this instance enqueued is left to run. The drain polls it every 20 ms, so
   * it must cost the database next to nothing (an `exists` that stops at the first live row),
   * not a count over a table the worker under test is busy with.
   */
  isDrained(): Promise<boolean>;
  /** What the jobs not completed became (for the error when a drain ends short), if it can say. */
  describeUnfinished?(): Promise<string>;
  /** Starts a worker in this system's mode; resolves once the start call returned. */
  startWorker(onStamp?: StampListener): Promise<RunningWorker>;
}

/** A library under test: its version, its modes per workload, and a factory. */
export interface SystemDefinition {
  readonly name: SystemName;
  readonly version: string;
  /** For each workload the system takes part in: mode name → the settings it uses. */
  readonly modes: Partial<Record<SystemWorkload, Readonly<Record<string, string>>>>;
  /**
   * Builds the system in `mode` (a key of one of `modes`) on `namespace`: a schema name for
   * the Postgres systems, a key prefix for BullMQ.
   */
  create(environment: BenchEnvironment, mode: string, namespace: string): QueueSystem;
}

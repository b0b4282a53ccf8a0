/**
 * The cron executor's slots and write-backs: up to `concurrency` tasks run at once, and a slot
 * is refilled as soon as its task finishes (one claim in flight at a time), while outcomes are
 * written in the background, grouped by what finished during the previous write. Edge-safe.
 * @module
 */

export interface PoolOptions<T> {
  concurrency: number;
  /** No claim starts at or after this time (epoch ms). */
  deadline: number;
  /** Claims up to `free` items; fewer than `free` means nothing more is due. */
  claim(free: number): Promise<T[]>;
  /** Runs one item (bounded by the deadline); its slot is free once this settles. */
  run(item: T): Promise<void>;
}

/**
 * Runs claimed items, refilling free slots, until a claim comes back short, the deadline
 * passes or something fails; then waits for the running items. Returns how many were claimed;
 * throws the first claim or run error once nothing runs any more.
 */
export async function runPool<T>(options: PoolOptions<T>): Promise<number> {
  const running = new Set<Promise<void>>();
  let claiming: Promise<void> | undefined;
  let more = true;
  let failed = false;
  let error: unknown;
  let claimed = 0;
  const fail = (reason: unknown) => {
    if (!failed) error = reason;
    failed = true;
  };
  const start = (item: T) => {
    const done: Promise<void> = options
      .run(item)
      .catch(fail)
      .finally(() => running.delete(done));
    running.add(done);
  };
  for (;;) {
    const free = options.concurrency - running.size;
    if (!claiming && more && !failed && free > 0 && Date.now() < options.deadline) {
      claiming = options
        .claim(free)
        .then((items) => {
          claimed += items.length;
          if (items.length < free) more = false;
          items.forEach(start);
        }, fail)
        .finally(() => {
          claiming = undefined;
        });
    }
    const waits = claiming ? [...running, claiming] : [...running];
    if (waits.length === 0) break;
    await Promise.race(waits);
  }
  if (failed) throw error;
  return claimed;
}

/**
 * Writes batches in the background, one write at a time: what is added while a write runs
 * goes in the next one. `settle` waits until everything added was written and throws the
 * first write error (the items of a failed write are not retried: their leases expire).
 */
export class BackgroundWriter<T> {
  #pending: T[] = [];
  #writing: Promise<void> | undefined;
  #failed = false;
  #error: unknown;
  readonly #write: (batch: T[]) => Promise<void>;

  constructor(write: (batch: T[]) => Promise<void>) {
    this.#write = write;
  }

  /** Whether a write failed: claim nothing more. */
  get failed(): boolean {
    return this.#failed;
  }

  add(item: T): void {
    this.#pending.push(item);
    void this.#flush();
  }

  async settle(): Promise<void> {
    while (this.#writing || this.#pending.length > 0) await this.#flush();
    if (this.#failed) throw this.#error;
  }

  #flush(): Promise<void> {
    this.#writing ??= this.#drain().finally(() => {
      this.#writing = undefined;
    });
    return this.#writing;
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        await this.#write(batch);
      } catch (error) {
        if (!this.#failed) this.#error = error;
        this.#failed = true;
      }
    }
  }
}

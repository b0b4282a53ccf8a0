/**
 * One database read for many live pages: pages that show the same thing (two tabs on the
 * overview, every stream woken by the same event) share a read instead of each making its own.
 * A caller says how fresh the answer must be (`since`: it must have started after that moment,
 * so it sees every change announced before), and gets the latest read of that key that did,
 * running or done, or a new one.
 * @module
 */

/** How many keys are remembered; older ones are forgotten first. */
const MAX_KEYS = 200;

/** Shares reads by key. */
export class SharedReads<T> {
  readonly #reads = new Map<string, { startedAt: number; value: Promise<T> }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** The value of a read of `key` started after `since` (ms since the epoch), starting one if needed. */
  read(key: string, since: number, load: () => Promise<T>): Promise<T> {
    const latest = this.#reads.get(key);
    if (latest && latest.startedAt > since) return latest.value;
    const entry = { startedAt: this.#now(), value: load() };
    this.#reads.delete(key);
    this.#reads.set(key, entry);
    if (this.#reads.size > MAX_KEYS) this.#reads.delete(this.#reads.keys().next().value as string);
    // A failed read is not shared: the next caller tries again.
    entry.value.catch(() => {
      if (this.#reads.get(key) === entry) this.#reads.delete(key);
    });
    return entry.value;
  }
}

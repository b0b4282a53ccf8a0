/**
 * A value loaded at most once per time-to-live, with one load shared by every caller that asks
 * while it runs: N scrapes (or N dashboards) that arrive together cost one query, and scrapes
 * that come more often than the TTL cost none. A failed load is kept for the TTL too, so an
 * unreachable database is not asked again on every scrape. Edge-safe.
 * @module
 */
import { ConfigError } from '../errors.ts';

export interface CachedValue<T> {
  /** The last loaded value if younger than the TTL, the running load if any, else a new load. */
  get(load: () => Promise<T>): Promise<T>;
}

/**
 * `ttlMs` counts from when a load settled; 0 only shares loads that overlap. `now` is for tests.
 * @throws ConfigError for a TTL that is not 0 or more milliseconds.
 */
export function cachedValue<T>(ttlMs: number, now: () => number = Date.now): CachedValue<T> {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs < 0) {
    throw new ConfigError(`A cache time must be 0 or more seconds, got ${String(ttlMs)} ms.`);
  }
  let settled: { result: Promise<T>; at: number } | undefined;
  let running: Promise<T> | undefined;
  return {
    get(load) {
      if (running) return running;
      if (settled && now() - settled.at < ttlMs) return settled.result;
      const loading = (async () => await load())();
      running = loading;
      const done = () => {
        settled = { result: loading, at: now() };
        running = undefined;
      };
      loading.then(done, done);
      return loading;
    },
  };
}

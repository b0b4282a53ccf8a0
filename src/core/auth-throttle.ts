/**
 * Back-off for failed credentials, per client: after `maxFailures` failures in a row, the
 * client is locked out for `lockoutSeconds`, doubled with every further failure up to
 * `maxLockoutSeconds`; a success forgets its failures, and so does a quiet `windowSeconds`.
 *
 * The state lives in memory, in this throttle object: per process on Node, per isolate on
 * Cloudflare (an isolate serves many requests but not all of them, and is recycled at will), so
 * it slows a guesser down rather than counting exactly. It is bounded: past `maxClients`
 * clients the least recently seen one is forgotten, so an attacker cannot grow it. Pure (no
 * I/O, the clock injected), so its timing is tested without waiting.
 * @module
 */
import { ConfigError } from './errors.ts';

/** Options of {@link createAuthThrottle}. */
export interface AuthThrottleOptions {
  /** Failures in a row a client may make before it is locked out (default: 5). */
  maxFailures?: number;
  /**
   * Seconds without a failure (counted from the end of the last lockout) after which a client's
   * failures are forgotten (default: 900, 15 minutes).
   */
  windowSeconds?: number;
  /** The first lockout, in seconds; each further failure doubles it (default: 1). */
  lockoutSeconds?: number;
  /** The longest lockout, in seconds (default: 900, 15 minutes). */
  maxLockoutSeconds?: number;
  /** Clients remembered at most; the least recently seen is dropped first (default: 10,000). */
  maxClients?: number;
  /** The clock, in milliseconds since the epoch (default: `Date.now`; tests inject their own). */
  now?: () => number;
}

/** Failure counts and lockouts per client key (see `client-key.ts`). */
export interface AuthThrottle {
  /** Milliseconds `client` must still wait before its credentials are checked again (0: none). */
  lockedFor(client: string): number;
  /** Records a failed attempt; returns the lockout it starts, in milliseconds (0: none yet). */
  recordFailure(client: string): number;
  /** Records a success: the client's failures are forgotten. */
  recordSuccess(client: string): void;
  /** Clients remembered now. */
  readonly size: number;
}

interface ClientState {
  failures: number;
  lastFailureAt: number;
  lockedUntil: number;
}

const SECOND = 1000;

function positive(name: string, value: number, integer: boolean): number {
  const valid = integer ? Number.isSafeInteger(value) && value >= 1 : Number.isFinite(value) && value > 0;
  if (!valid) {
    throw new ConfigError(
      `authThrottle.${name} must be a positive ${integer ? 'integer' : 'number'}, got ${String(value)}.`,
    );
  }
  return value;
}

/** True when `value` is a throttle already built (rather than options for one). */
export function isAuthThrottle(value: unknown): value is AuthThrottle {
  return typeof (value as AuthThrottle | null)?.recordFailure === 'function';
}

/**
 * The throttle an `authThrottle` option asks for: the one given, a new one with these options
 * (default options when undefined), or none for `false`.
 */
export function authThrottleOf(
  option: AuthThrottleOptions | AuthThrottle | false | undefined,
): AuthThrottle | null {
  if (option === false) return null;
  return isAuthThrottle(option) ? option : createAuthThrottle(option ?? {});
}

/**
 * Builds a throttle. Share one between apps that should count together (a Worker that builds an
 * app per request keeps one at module or factory scope).
 * @throws ConfigError for an option out of range.
 */
export function createAuthThrottle(options: AuthThrottleOptions = {}): AuthThrottle {
  const maxFailures = positive('maxFailures', options.maxFailures ?? 5, true);
  const window = positive('windowSeconds', options.windowSeconds ?? 900, false) * SECOND;
  const lockout = positive('lockoutSeconds', options.lockoutSeconds ?? 1, false) * SECOND;
  const maxLockout = positive('maxLockoutSeconds', options.maxLockoutSeconds ?? 900, false) * SECOND;
  if (maxLockout < lockout) {
    throw new ConfigError('authThrottle.maxLockoutSeconds must be at least lockoutSeconds.');
  }
  const maxClients = positive('maxClients', options.maxClients ?? 10_000, true);
  const now = options.now ?? Date.now;
  // A Map iterates in insertion order: deleting and re-inserting on every touch keeps the least
  // recently seen client first, which is the one dropped when the map is full.
  const clients = new Map<string, ClientState>();

  /** The client's state if it is still remembered at `at`, moved to the most recent end. */
  function touch(client: string, at: number): ClientState | undefined {
    const state = clients.get(client);
    if (!state) return undefined;
    clients.delete(client);
    if (at - Math.max(state.lastFailureAt, state.lockedUntil) >= window) return undefined;
    clients.set(client, state);
    return state;
  }

  return {
    lockedFor(client) {
      const at = now();
      const state = touch(client, at);
      return state ? Math.max(0, state.lockedUntil - at) : 0;
    },
    recordFailure(client) {
      const at = now();
      let state = touch(client, at);
      if (!state) {
        state = { failures: 0, lastFailureAt: at, lockedUntil: 0 };
        clients.set(client, state);
        for (const oldest of clients.keys()) {
          if (clients.size <= maxClients) break;
          clients.delete(oldest);
        }
      }
      state.failures += 1;
      state.lastFailureAt = at;
      if (state.failures < maxFailures) return 0;
      // 2 ** n overflows to Infinity long after the cap; Math.min keeps it finite.
      const duration = Math.min(lockout * 2 ** (state.failures - maxFailures), maxLockout);
      state.lockedUntil = at + duration;
      return duration;
    },
    recordSuccess(client) {
      clients.delete(client);
    },
    get size() {
      return clients.size;
    },
  };
}

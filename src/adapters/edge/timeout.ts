/**
 * Deadlines for promises that have none of their own (a PUBLISH over HTTP, a connection
 * attempt, a ping).
 * @module
 */

/** Rejects when `promise` has not settled after `ms` milliseconds; `what` names it in the error. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/**
 * When the HTTP app answers 503 `DATABASE_UNAVAILABLE` instead of 500: the database cannot be
 * reached ({@link isDatabaseUnreachable}, shared with the worker's start-up wait), or one of this
 * package's drivers wrapped an error without a code, which they only do when they never got an
 * answer (a failed fetch, a closed socket).
 * @module
 */
import { DatabaseError } from '../core/database.ts';
import { isDatabaseUnreachable } from '../core/database-unreachable.ts';

/** True when `error` means the database is not there right now (answer 503, worth a retry). */
export function isDatabaseUnavailable(error: unknown): boolean {
  return (error instanceof DatabaseError && error.code === '') || isDatabaseUnreachable(error);
}

/**
 * The opaque cursor of `GET /tasks`: base64url of the id of the last task of a page (ids are
 * time-ordered, so the id alone is a position in the newest-first order). Clients must treat
 * it as opaque; its format may change between versions.
 * @module
 */
import { isTaskId } from '../core/task-id.ts';
import { HttpError } from './error-response.ts';

/** Encodes the last id of a page as a cursor. */
export function encodeCursor(id: string): string {
  return btoa(`t:${id}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Decodes a cursor to an id.
 * @throws HttpError 400 `INVALID_CURSOR` for anything {@link encodeCursor} did not make.
 */
export function decodeCursor(cursor: string): string {
  let decoded = '';
  try {
    if (/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) decoded = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    decoded = '';
  }
  const id = decoded.startsWith('t:') ? decoded.slice(2) : '';
  if (!isTaskId(id)) {
    throw new HttpError(
      400,
      'INVALID_CURSOR',
      'cursor is not one this API returned; pass nextCursor from a previous page unchanged.',
      { field: 'cursor' },
    );
  }
  return id;
}

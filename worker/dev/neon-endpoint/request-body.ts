import type { IncomingMessage } from 'node:http';

/** Neon refuses requests and responses larger than this (10 MiB) with HTTP 507. */
export const NEON_SIZE_LIMIT = 10 * 1024 * 1024;

/**
 * Reads a request body of at most `limit` bytes. Returns `undefined` when it is larger;
 * the rest is still read and dropped so the client gets to see the answer instead of a reset
 * connection, while memory stays bounded by `limit`.
 */
export async function readBoundedBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = Number(request.headers['content-length']) > limit;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    if (tooLarge) continue;
    size += chunk.length;
    if (size > limit) {
      tooLarge = true;
      chunks.length = 0;
      continue;
    }
    chunks.push(chunk);
  }
  return tooLarge ? undefined : Buffer.concat(chunks, size);
}

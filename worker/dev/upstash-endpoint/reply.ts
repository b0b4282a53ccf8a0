/**
 * Redis replies as the endpoint's backends return them, and their JSON form on the wire.
 * @module
 */

/** A Redis error reply, e.g. `ERR syntax error` or `WRONGTYPE ...`. */
export class ReplyError {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

/** Bulk and status strings (`Buffer` or text), integers, nil, arrays and errors. */
export type Reply = string | Buffer | number | null | ReplyError | Reply[];

/** What a backend must provide: the Redis commands and pub/sub behind the REST API. */
export interface CommandBackend {
  /** Runs one command. Redis errors resolve as {@link ReplyError}; a dead backend rejects. */
  run(command: readonly string[]): Promise<Reply>;
  /** Runs `commands` in MULTI/EXEC: each reply, or one {@link ReplyError} when it aborted. */
  transaction(commands: readonly (readonly string[])[]): Promise<Reply[] | ReplyError>;
  /**
   * Subscribes to a channel or pattern; resolves once active. `lost` is called if the
   * subscription dies on its own (the backend lost its connection).
   */
  subscribe(
    kind: 'channel' | 'pattern',
    name: string,
    onMessage: (channel: string, message: string) => void,
    lost: () => void,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

const OK = Buffer.from('OK');

/**
 * The JSON value of `reply`. With `base64`, every string is base64 (Upstash-Encoding), except
 * a top-level `OK`, which Upstash sends as is; numbers and nil stay what they are.
 */
export function encodeReply(reply: Reply, base64: boolean, topLevel = true): unknown {
  if (reply === null || typeof reply === 'number') return reply;
  if (Array.isArray(reply)) return reply.map((item) => encodeReply(item, base64, false));
  if (reply instanceof ReplyError) return reply.message;
  const bytes = typeof reply === 'string' ? Buffer.from(reply) : reply;
  if (!base64) return bytes.toString('utf8');
  return topLevel && bytes.equals(OK) ? 'OK' : bytes.toString('base64');
}

/** One entry of a pipeline or transaction answer: `{result}` or `{error}`. */
export function replyEntry(reply: Reply, base64: boolean): { result: unknown } | { error: string } {
  return reply instanceof ReplyError ? { error: reply.message } : { result: encodeReply(reply, base64) };
}

/**
 * A server-sent events response body over Web streams only (edge-safe): named events with one
 * line of data, comment lines as a heartbeat, and a callback when the client goes away.
 * `EventSource` parses it; see https://html.spec.whatwg.org/multipage/server-sent-events.html.
 * @module
 */
import { unrefTimer } from './unref-timer.ts';

/** What {@link sseStream} needs. */
export interface SseStreamOptions {
  /** Send a comment line this often (ms) so proxies keep an idle stream open and a gone client is noticed. */
  heartbeatMs: number;
  /** How long a browser waits before reconnecting after the stream ends (ms), sent first. */
  retryMs: number;
  /** Called once when the stream ends, whichever side ended it. */
  onClose: () => void;
}

/** The writing end of one stream. Writes after the end are ignored. */
export interface SseStream {
  /** The response body. */
  readonly body: ReadableStream<Uint8Array>;
  /** Sends `event` with `data` (one line: JSON without line breaks). */
  send(event: string, data: string): void;
  /** Ends the stream (the browser reconnects after `retryMs`). */
  close(): void;
  /** False once the stream ended. */
  readonly open: boolean;
}

const encoder = new TextEncoder();

/** Opens a stream; the heartbeat runs until it ends. */
export function sseStream(options: SseStreamOptions): SseStream {
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  let open = true;
  let heartbeat: ReturnType<typeof setInterval> | undefined;

  function end(): void {
    if (!open) return;
    open = false;
    if (heartbeat !== undefined) clearInterval(heartbeat);
    options.onClose();
  }

  function write(text: string): void {
    if (!open || !controller) return;
    try {
      controller.enqueue(encoder.encode(text));
    } catch {
      // The consumer is gone (the runtime cancelled the body): treat it as a close.
      end();
    }
  }

  const body = new ReadableStream<Uint8Array>({
    start(streamController) {
      controller = streamController;
      write(`retry: ${options.retryMs}\n\n`);
      // Unref'd: a body nobody reads must not keep a Node process alive.
      heartbeat = unrefTimer(setInterval(() => write(': heartbeat\n\n'), options.heartbeatMs));
    },
    cancel() {
      // The client disconnected (Node: the socket closed; Workers: the request was aborted).
      end();
    },
  });

  return {
    body,
    send(event, data) {
      // A line break in data would start a new field; callers send JSON, which has none.
      write(`event: ${event}\ndata: ${data.replace(/[\r\n]+/g, ' ')}\n\n`);
    },
    close() {
      if (!open) return;
      const current = controller;
      end();
      try {
        current?.close();
      } catch {
        // Already closed or cancelled.
      }
    },
    get open() {
      return open;
    },
  };
}

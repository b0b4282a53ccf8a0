/**
 * `POST /subscribe/<channel>` and `/psubscribe/<pattern>`: a server-sent-events stream per
 * request, as Upstash serves them. Lines are `data: subscribe,<channel>,1`, then
 * `data: message,<channel>,<payload>` or `data: pmessage,<pattern>,<channel>,<payload>`;
 * payloads are sent as they are (not base64). The subscription ends with the request.
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { CommandBackend } from './reply.ts';

/**
 * Subscribes and streams to `response` until the client goes away or `streams`' entry is
 * called (the endpoint closing). Answers 500 when the backend cannot subscribe. `headers`
 * (CORS headers for an allowed browser origin) go on every answer.
 */
export async function serveEventStream(
  response: ServerResponse,
  backend: CommandBackend,
  kind: 'channel' | 'pattern',
  name: string,
  streams: Set<() => void>,
  headers: Record<string, string> = {},
): Promise<void> {
  let stop: (() => Promise<void>) | undefined;
  let ended = false;
  let open = false;
  // Messages that arrive with the SUBSCRIBE confirmation, before the headers are out.
  const early: string[] = [];
  const end = () => {
    if (ended) return;
    ended = true;
    streams.delete(end);
    void stop?.().catch(() => undefined);
    if (open && !response.writableEnded) response.end();
  };
  const send = (line: string) => {
    if (ended) return;
    if (open) response.write(`data: ${line}\n\n`);
    else early.push(line);
  };
  streams.add(end);
  response.on('close', end);
  try {
    stop = await backend.subscribe(
      kind,
      name,
      (channel, message) =>
        send(kind === 'channel' ? `message,${channel},${message}` : `pmessage,${name},${channel},${message}`),
      end,
    );
  } catch (error) {
    streams.delete(end);
    ended = true;
    const text = JSON.stringify({ error: `ERR ${error instanceof Error ? error.message : String(error)}` });
    if (!response.destroyed)
      response.writeHead(500, { ...headers, 'content-type': 'application/json' }).end(text);
    return;
  }
  if (ended) {
    // The client left (or the endpoint closed) while the subscription was being set up.
    await stop().catch(() => undefined);
    if (!response.destroyed && !response.headersSent) response.writeHead(503, headers).end();
    return;
  }
  response.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  open = true;
  send(`${kind === 'channel' ? 'subscribe' : 'psubscribe'},${name},1`);
  for (const line of early.splice(0)) send(line);
}

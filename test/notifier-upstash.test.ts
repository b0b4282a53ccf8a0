/**
 * The Upstash REST notifier beyond the conformance suite: noticing a dropped or frozen event
 * stream and reconnecting, failing fast while the server is down, single-line messages,
 * a caller-built client, and no telemetry. Each test runs its own local endpoint.
 */
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { createServer, connect, type Socket } from 'node:net';
import { Redis } from '@upstash/redis';
import { afterEach, describe, expect, it } from 'vitest';
import type { Notifier, NotifierStatus } from '../src/core/notifier.ts';
import { createUpstashNotifier } from '../src/adapters/edge/upstash-notifier.ts';
import { startUpstashEndpoint, type UpstashEndpoint } from '../worker/dev/upstash-endpoint.ts';

const token = 'upstash-notifier-test';
const channel = `t_notif_upstash_${Math.random().toString(36).slice(2, 8)}`;
// Quick probing so that a lost stream is noticed within a second.
const quick = {
  heartbeatMs: 150,
  probeTimeoutMs: 400,
  retry: { initialDelayMs: 50, maxDelayMs: 300 },
} as const;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function endpoint(port = 0): Promise<UpstashEndpoint> {
  const started = await startUpstashEndpoint({ token, port });
  cleanups.push(() => started.close());
  return started;
}

function notifierFor(
  url: string,
  options: Partial<Parameters<typeof createUpstashNotifier>[0]> = {},
): Notifier {
  const notifier = createUpstashNotifier({
    url,
    token,
    ...quick,
    onError: () => undefined,
    ...options,
  } as Parameters<typeof createUpstashNotifier>[0]);
  cleanups.push(() => notifier.close());
  return notifier;
}

async function waitFor(check: () => boolean, what: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function recorder() {
  const messages: string[] = [];
  const statuses: NotifierStatus[] = [];
  return {
    messages,
    statuses,
    onMessage: (message: string) => messages.push(message),
    onStatus: (status: NotifierStatus) => statuses.push(status),
    messagesReach: (count: number) =>
      waitFor(
        () => messages.length >= count,
        () => `messages ${messages}`,
      ),
    statusesAre: (...expected: NotifierStatus[]) =>
      waitFor(
        () => statuses.length >= expected.length,
        () => `statuses ${expected}, saw ${statuses}`,
      ).then(() => expect(statuses).toEqual(expected)),
  };
}

/** A TCP relay whose current connections can be frozen: open, but carrying nothing. */
async function freezableRelay(targetPort: number) {
  const sockets = new Set<Socket>();
  let frozen = new WeakSet<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on('data', (chunk) => {
        if (!frozen.has(client)) to.write(chunk);
      });
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
      from.on('error', () => to.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    freeze() {
      frozen = new WeakSet(sockets);
    },
  };
}

describe('Upstash notifier', () => {
  it('reconnects when the endpoint restarts and drops its event stream', async () => {
    const first = await endpoint();
    const notifier = notifierFor(first.url);
    const inbox = recorder();
    await notifier.subscribe(channel, inbox.onMessage, { onStatus: inbox.onStatus });
    await notifier.publish(channel, 'before');
    await inbox.messagesReach(1);

    await first.close();
    await inbox.statusesAre('disconnected');
    await endpoint(first.port);
    await inbox.statusesAre('disconnected', 'connected');
    await notifier.publish(channel, 'after');
    await inbox.messagesReach(2);
    expect(inbox.messages).toEqual(['before', 'after']);
  });

  it('notices a stream that stays open but no longer delivers, and reconnects', async () => {
    const server = await endpoint();
    const relay = await freezableRelay(server.port);
    const notifier = notifierFor(relay.url);
    const inbox = recorder();
    await notifier.subscribe(channel, inbox.onMessage, { onStatus: inbox.onStatus });
    await notifier.publish(channel, 'before');
    await inbox.messagesReach(1);

    relay.freeze();
    await inbox.statusesAre('disconnected', 'connected');
    await notifier.publish(channel, 'after');
    await inbox.messagesReach(2);
    expect(inbox.messages).toEqual(['before', 'after']);
  });

  it('rejects publish within 2 s while the endpoint is down', async () => {
    const server = await endpoint();
    const notifier = notifierFor(server.url);
    await server.close();
    const started = performance.now();
    await expect(notifier.publish(channel, 'lost')).rejects.toMatchObject({
      code: 'PUBLISH_FAILED',
      channel,
    });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('resolves subscribe while the endpoint is down, then connects when it starts', async () => {
    const placeholder = await endpoint();
    const port = placeholder.port;
    await placeholder.close();
    const notifier = notifierFor(`http://127.0.0.1:${port}`);
    const inbox = recorder();
    await notifier.subscribe(channel, inbox.onMessage, { onStatus: inbox.onStatus });
    expect(inbox.statuses).toEqual(['disconnected']);

    await endpoint(port);
    await inbox.statusesAre('disconnected', 'connected');
    await notifier.publish(channel, 'finally');
    await inbox.messagesReach(1);
    expect(inbox.messages).toEqual(['finally']);
  });

  it('refuses a message with a line break, which would be cut in two on the event stream', async () => {
    const server = await endpoint();
    const notifier = notifierFor(server.url);
    for (const message of ['two\nlines', 'carriage\rreturn']) {
      await expect(notifier.publish(channel, message)).rejects.toMatchObject({
        code: 'INVALID_MESSAGE',
        channel,
      });
    }
  });

  it('works with a client the caller built, re-serializing the JSON that client parses', async () => {
    const server = await endpoint();
    const redis = new Redis({ url: server.url, token, enableTelemetry: false });
    const notifier = createUpstashNotifier({ redis, ...quick, onError: () => undefined });
    cleanups.push(() => notifier.close());
    const inbox = recorder();
    await notifier.subscribe(channel, inbox.onMessage);
    const event = JSON.stringify({ event: 'task_finished', taskId: 'x', note: 'a,b "c"' });
    await notifier.publish(channel, event);
    await notifier.publish(channel, 'plain text');
    await inbox.messagesReach(2);
    expect(inbox.messages).toEqual([event, 'plain text']);
  });

  it('sends no telemetry headers', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = createHttpServer((request, response) => {
      seen.push(request.headers);
      request.resume();
      response.writeHead(200, { 'content-type': 'application/json' }).end('[{"result":1}]');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const notifier = notifierFor(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
    await notifier.publish(channel, 'hello');
    expect(seen).toHaveLength(1);
    expect(Object.keys(seen[0]!).filter((name) => name.includes('telemetry'))).toEqual([]);
    expect(seen[0]!.authorization).toBe(`Bearer ${token}`);
  });
});

/**
 * The Postgres side of a {@link ChannelMultiplexer}: one dedicated `pg.Client` (never a pooled
 * one: a LISTEN belongs to its session, and a pool hands sessions around) that LISTENs on
 * every channel at once.
 * @module
 */
import pg from 'pg';
import type { MultiplexConnection, MultiplexTransport } from '../edge/channel-multiplexer.ts';

// One simple-protocol query may hold many statements; this many LISTENs per round trip keeps
// a re-LISTEN after a reconnect fast without building a huge query string.
const CHUNK = 500;

/** Opens LISTEN connections with `config`. `names` are Postgres channel names (≤ 63 bytes). */
export function createPostgresListenTransport(config: pg.ClientConfig): MultiplexTransport {
  return {
    async connect(events): Promise<MultiplexConnection> {
      const client = new pg.Client(config);
      let open = false;
      let closing = false;
      // Without an 'error' listener a dropped connection would crash the process.
      client.on('error', (error) => {
        if (open && !closing) events.lost(error);
      });
      client.on('end', () => {
        if (open && !closing) events.lost(new Error('the Postgres LISTEN connection ended'));
      });
      client.on('notification', (notification) =>
        events.message(notification.channel, notification.channel, notification.payload ?? ''),
      );
      try {
        await client.connect();
      } catch (error) {
        closing = true;
        await client.end().catch(() => undefined);
        throw error;
      }
      open = true;
      // pg queues overlapping queries itself, but deprecates relying on it (gone in pg 9):
      // chain them here, which also keeps LISTEN and UNLISTEN in the order they were asked.
      let queue: Promise<unknown> = Promise.resolve();
      const serial = (text: string) => {
        const result = queue.then(() => client.query(text));
        queue = result.catch(() => undefined);
        return result;
      };
      const run = async (verb: 'LISTEN' | 'UNLISTEN', names: readonly string[]) => {
        for (let i = 0; i < names.length; i += CHUNK) {
          const batch = names.slice(i, i + CHUNK);
          await serial(batch.map((name) => `${verb} ${client.escapeIdentifier(name)}`).join('; '));
        }
      };
      return {
        listen: (names) => run('LISTEN', names),
        unlisten: (names) => run('UNLISTEN', names),
        async ping() {
          await serial('select 1');
        },
        async close() {
          closing = true;
          await client.end();
        },
      };
    },
  };
}

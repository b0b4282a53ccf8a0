/**
 * The Database drivers every conformance suite runs against: node-postgres over TCP, and the
 * real `neon()` HTTP client through the project's local Neon endpoint.
 */
import { randomBytes } from 'node:crypto';
import type { Database } from '../../src/core/database.ts';
import { createNeonHttpDatabase } from '../../src/adapters/edge/neon-http-database.ts';
import { startNeonEndpoint } from '../../worker/dev/neon-endpoint.ts';
import { createPgDatabase } from '../../src/adapters/node/pg-database.ts';

export interface DriverHandle {
  db: Database;
  close(): Promise<void>;
}

export interface DriverCase {
  name: 'node-postgres' | 'neon-http';
  open(databaseUrl: string): Promise<DriverHandle>;
}

/** `neon()` insists on user:password@host; the local endpoint uses its own pool anyway. */
export function neonConnectionString(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.protocol = 'postgresql:';
  if (!url.password) url.password = 'local';
  return url.toString();
}

export const driverCases: DriverCase[] = [
  {
    name: 'node-postgres',
    async open(databaseUrl) {
      const db = createPgDatabase({ connectionString: databaseUrl, max: 10 });
      return { db, close: () => db.close() };
    },
  },
  {
    name: 'neon-http',
    async open(databaseUrl) {
      const endpoint = await startNeonEndpoint({ databaseUrl, authToken: randomBytes(16).toString('hex') });
      const db = createNeonHttpDatabase({
        connectionString: neonConnectionString(databaseUrl),
        fetchEndpoint: endpoint.url,
        authToken: endpoint.authToken,
      });
      return {
        db,
        async close() {
          await db.close();
          await endpoint.close();
        },
      };
    },
  },
];

/** Wraps a driver and counts the statements sent through it (a transaction counts each). */
export function countingDatabase(inner: Database): Database & { statements: string[] } {
  const statements: string[] = [];
  return {
    statements,
    query(text, params, options) {
      statements.push(text);
      return inner.query(text, params, options);
    },
    transaction(queries) {
      for (const query of queries) statements.push(query.text);
      return inner.transaction(queries);
    },
    close: () => inner.close(),
  };
}

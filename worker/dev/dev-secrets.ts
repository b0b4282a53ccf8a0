/**
 * Tokens of the local stack, made once and kept in the data folder (mode 0600) so the
 * environment an edge app was given keeps working across restarts. A secret added by a newer
 * version is made on the first start that needs it; the others are kept.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface DevSecrets {
  /** Bearer token of the HTTP API (`TASK_WORKER_API_TOKEN`). */
  apiToken: string;
  /** Token of the local Upstash endpoint (`UPSTASH_REDIS_REST_TOKEN`). */
  upstashToken: string;
  /** Bearer token of the local Neon endpoint (`NEON_AUTH_TOKEN`). */
  neonAuthToken: string;
  /** Password of the least-privilege role of the embedded Postgres (in `DATABASE_URL`). */
  databasePassword: string;
}

const NAMES = ['apiToken', 'upstashToken', 'neonAuthToken', 'databasePassword'] as const;

function secret(): string {
  return `dev_${randomBytes(18).toString('base64url')}`;
}

/** Writes `content` to `file` readable by its owner only, also when the file already existed. */
export async function writePrivateFile(file: string, content: string): Promise<void> {
  // Tighten an existing file before the secrets go in (writeFile's mode applies on creation).
  await chmod(file, 0o600).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  await writeFile(file, content, { mode: 0o600 });
}

export async function loadDevSecrets(dataDir: string): Promise<DevSecrets> {
  const file = join(dataDir, 'secrets.json');
  let saved: Partial<Record<string, unknown>> = {};
  try {
    saved = JSON.parse(await readFile(file, 'utf8')) as Partial<Record<string, unknown>>;
  } catch {
    // first run
  }
  const secrets = Object.fromEntries(
    NAMES.map((name) => {
      const value = saved[name];
      return [name, typeof value === 'string' && value !== '' ? value : secret()];
    }),
  ) as unknown as DevSecrets;
  await mkdir(dataDir, { recursive: true });
  if (NAMES.some((name) => saved[name] !== secrets[name])) {
    await writePrivateFile(file, `${JSON.stringify(secrets, null, 2)}\n`);
  } else {
    await chmod(file, 0o600);
  }
  return secrets;
}

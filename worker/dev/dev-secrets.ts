/**
 * Tokens of the local stack, made once and kept in the data folder so the environment an edge
 * app was given keeps working across restarts.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface DevSecrets {
  apiToken: string;
  upstashToken: string;
}

export async function loadDevSecrets(dataDir: string): Promise<DevSecrets> {
  const file = join(dataDir, 'secrets.json');
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as Partial<DevSecrets>;
    if (saved.apiToken && saved.upstashToken)
      return { apiToken: saved.apiToken, upstashToken: saved.upstashToken };
  } catch {
    // first run
  }
  const secrets = {
    apiToken: `dev_${randomBytes(18).toString('base64url')}`,
    upstashToken: `dev_${randomBytes(18).toString('base64url')}`,
  };
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

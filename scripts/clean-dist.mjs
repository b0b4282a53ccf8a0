// Removes dist/ before `npm run build`, so files of an earlier build (a deleted module, source
// maps from before they were turned off) never reach the packed tarball.
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

rmSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'dist'), { recursive: true, force: true });

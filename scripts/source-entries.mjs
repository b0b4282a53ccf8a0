// `npm run example -- path/to/script.ts` (node --import ./scripts/source-entries.mjs): runs a
// script of this checkout (a README example, say) with `edge-task-worker[/sub]` resolved to the
// TypeScript sources instead of dist/, so nothing needs `npm run build` first. The task-worker
// CLI of a checkout does the same for tasks modules (worker/container/module-hooks.ts).
import './compile-migrations.mjs';
import { registerModuleHooks } from '../worker/container/module-hooks.ts';

registerModuleHooks();

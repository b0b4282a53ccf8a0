/**
 * A peer library's worker as a process of its own, for the memory workload:
 * `node bench/peer-worker.ts <system> <mode> <namespace>` attaches to a namespace the parent
 * created, starts the worker, prints `{"event":"ready"}`, and stops cleanly on SIGTERM.
 * Reads BENCH_DATABASE_URL and BENCH_REDIS_URL like bench/run.ts.
 * @module
 */
import { benchEnvironment } from './bench-environment.ts';
import type { SystemDefinition, SystemName } from './systems/queue-system.ts';

// Only the library under test is loaded, so the process's memory is its own.
const LOADERS: Record<Exclude<SystemName, 'edge-task-worker'>, () => Promise<SystemDefinition>> = {
  'graphile-worker': () => import('./systems/graphile-worker.ts').then((m) => m.graphileWorker),
  'pg-boss': () => import('./systems/pg-boss.ts').then((m) => m.pgBoss),
  bullmq: () => import('./systems/bullmq.ts').then((m) => m.bullmq),
};

const [name, mode, namespace] = process.argv.slice(2);
const load = LOADERS[name as keyof typeof LOADERS] as (() => Promise<SystemDefinition>) | undefined;
if (!load || !mode || !namespace) {
  console.error(`usage: node bench/peer-worker.ts <${Object.keys(LOADERS).join('|')}> <mode> <namespace>`);
  process.exit(2);
}
const system = (await load()).create(benchEnvironment(), mode, namespace);
await system.open({ fresh: false });
const worker = await system.startWorker();
process.stdout.write(`${JSON.stringify({ event: 'ready' })}\n`);
process.once('SIGTERM', () => {
  void worker
    .stop()
    .then(() => system.close({ keep: true }))
    .then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(String(error));
        process.exit(1);
      },
    );
});

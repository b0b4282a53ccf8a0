/**
 * Every system the benchmark knows, by name.
 * @module
 */
import { bullmq } from './bullmq.ts';
import { edgeTaskWorker } from './edge-task-worker.ts';
import { graphileWorker } from './graphile-worker.ts';
import { pgBoss } from './pg-boss.ts';
import type { SystemDefinition, SystemName } from './queue-system.ts';

export const SYSTEMS: Readonly<Record<SystemName, SystemDefinition>> = {
  'edge-task-worker': edgeTaskWorker,
  'graphile-worker': graphileWorker,
  'pg-boss': pgBoss,
  bullmq,
};

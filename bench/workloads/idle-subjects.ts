/**
 * What the idle workload runs: each worker on a Postgres database of its own
 * (`bench_idle_<subject>`, created fresh, dropped at the end), since pg_stat_database counts
 * per database; a Redis-based one on a private redis-server (private-redis.ts). Every worker
 * runs as a process of its own at its defaults, with nothing queued: edge-task-worker as
 * `task-worker run` from the build with each notifier, the peers as `bench/peer-worker.ts` in
 * their `idle` mode. A control database with no worker shows what Postgres itself does there
 * (autovacuum's visits).
 * @module
 */
import type { ChildWorker } from '../child-worker-process.ts';
import { startPrivateRedis, type PrivateRedis } from '../private-redis.ts';
import { loadEdgeTaskWorkerBuild } from '../systems/edge-task-worker-build.ts';
import { BENCH_TASKS_PATH } from '../systems/edge-task-worker.ts';
import type { BenchEnvironment, SystemDefinition, SystemName } from '../systems/queue-system.ts';
import { startChildWorker } from '../child-worker-process.ts';
import { childEnv, READY_TIMEOUT_MS, REPO_ROOT, startBuiltCli } from './memory-targets.ts';

/** The namespace (schema or key prefix) every idle system uses, in its own database. */
const IDLE_NAMESPACE = 'bench_idle';

export interface IdleSubject {
  /** e.g. `edge-task-worker / redis`. */
  readonly label: string;
  readonly system: SystemName | 'control';
  readonly settings: string;
  /** Its own database, `bench_idle_<name>`; undefined for BullMQ (no Postgres). */
  readonly database: string | undefined;
  /** The private Redis it talks to, if any. */
  redis?: PrivateRedis;
  /** Creates its database objects and starts the worker; resolves once it is ready. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The environment's URL with another database name. */
export function databaseUrl(environment: BenchEnvironment, database: string): string {
  const url = new URL(environment.databaseUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

type OurNotifier = 'redis' | 'postgres' | 'none';

function ourSubject(environment: BenchEnvironment, notifier: OurNotifier): IdleSubject {
  const database = `bench_idle_etw_${notifier}`;
  const url = databaseUrl(environment, database);
  let child: ChildWorker | undefined;
  const subject: IdleSubject = {
    label: `edge-task-worker / ${notifier}`,
    system: 'edge-task-worker',
    settings: `task-worker run --notifier ${notifier}, other options default (concurrency 1, poll interval 1,000 ms)`,
    database,
    async start() {
      const build = await loadEdgeTaskWorkerBuild();
      const db = build.createPgDatabase({ connectionString: url, applicationName: 'bench-idle-setup' });
      await build.migrate(db).finally(() => db.close());
      if (notifier === 'redis') subject.redis = await startPrivateRedis();
      const env = childEnv({ DATABASE_URL: url, ...(subject.redis ? { REDIS_URL: subject.redis.url } : {}) });
      const args = ['run', '--tasks', BENCH_TASKS_PATH, '--notifier', notifier, '--log-format', 'json'];
      child = startBuiltCli(args, env);
      await child.waitForEvent('worker_started', READY_TIMEOUT_MS);
    },
    async stop() {
      await child?.stop();
      await subject.redis?.stop();
    },
  };
  return subject;
}

function peerSubject(environment: BenchEnvironment, definition: SystemDefinition): IdleSubject {
  const short = definition.name === 'graphile-worker' ? 'graphile' : definition.name.replace('-', '');
  const database = definition.name === 'bullmq' ? undefined : `bench_idle_${short}`;
  let child: ChildWorker | undefined;
  const subject: IdleSubject = {
    label: `${definition.name} / defaults`,
    system: definition.name,
    settings: definition.modes.idle?.idle ?? 'defaults',
    database,
    async start() {
      if (!database) subject.redis = await startPrivateRedis();
      const own: BenchEnvironment = {
        databaseUrl: database ? databaseUrl(environment, database) : environment.databaseUrl,
        redisUrl: subject.redis?.url ?? environment.redisUrl,
      };
      // Its schema or queue, through its own API; closed again so only the worker process talks.
      const setup = definition.create(own, 'idle', IDLE_NAMESPACE);
      await setup.open();
      await setup.close({ keep: true });
      const env = childEnv({ BENCH_DATABASE_URL: own.databaseUrl, BENCH_REDIS_URL: own.redisUrl });
      child = startChildWorker(
        process.execPath,
        ['bench/peer-worker.ts', definition.name, 'idle', IDLE_NAMESPACE],
        env,
        REPO_ROOT,
      );
      await child.waitForEvent('ready', READY_TIMEOUT_MS);
    },
    async stop() {
      await child?.stop();
      await subject.redis?.stop();
    },
  };
  return subject;
}

/** The subjects for the selected systems, plus the control database. */
export function idleSubjects(
  environment: BenchEnvironment,
  systems: readonly SystemDefinition[],
): IdleSubject[] {
  const subjects: IdleSubject[] = [];
  for (const definition of systems) {
    if (definition.name === 'edge-task-worker') {
      for (const notifier of ['redis', 'postgres', 'none'] as const)
        subjects.push(ourSubject(environment, notifier));
    } else if (definition.modes.idle) {
      subjects.push(peerSubject(environment, definition));
    }
  }
  subjects.push({
    label: 'control (no worker)',
    system: 'control',
    settings: 'an empty database, nothing connected',
    database: 'bench_idle_control',
    start: async () => undefined,
    stop: async () => undefined,
  });
  return subjects;
}

/**
 * `edge-task-worker/node`: the Node-only adapters: the node-postgres driver, the Redis TCP and
 * Postgres LISTEN/NOTIFY notifiers, and `notifierFromEnv`. The edge-safe notifiers are in
 * `edge-task-worker/client`; the container worker is `edge-task-worker/worker`; the local
 * endpoints of `task-worker dev` are `edge-task-worker/dev`.
 * @module
 */
export { createPgDatabase, type PgDatabaseOptions } from './pg-database.ts';
export { createRedisNotifier, type RedisNotifierOptions } from './redis-notifier.ts';
export { createRedisDueHint, type RedisDueHintOptions, type ClosableDueHint } from './redis-due-hint.ts';
export type { RedisConnection } from './redis-connection-options.ts';
export { createPostgresNotifier, type PostgresNotifierOptions } from './postgres-notifier.ts';
export { dueHintFromEnv, notifierFromEnv, type NotifierEnv, type NotifierKind } from './notifier-from-env.ts';

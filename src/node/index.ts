/**
 * `edge-task-worker/node`: Node-only pieces (TCP driver, local endpoints, and later the worker).
 * @module
 */
export { createPgDatabase, type PgDatabaseOptions } from './pg-database.ts';

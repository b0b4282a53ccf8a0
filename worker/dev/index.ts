/**
 * `edge-task-worker/dev`: the local development tooling behind `task-worker dev`: endpoints that
 * speak Neon's SQL-over-HTTP and Upstash's REST protocols on top of a real Postgres and Redis,
 * for tests and local stacks. Node only; never expose them beyond this machine without reading
 * docs/SECURITY.md.
 * @module
 */
export { startNeonEndpoint, type NeonEndpoint, type NeonEndpointOptions } from './neon-endpoint.ts';
export {
  startUpstashEndpoint,
  type UpstashEndpoint,
  type UpstashEndpointOptions,
} from './upstash-endpoint.ts';
export type { LocalAccessOptions } from './local-request-guard.ts';

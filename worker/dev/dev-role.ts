/**
 * The least-privilege login role of `task-worker dev`: what the local Neon endpoint, the
 * worker, the HTTP API and the printed DATABASE_URL connect as. It owns the task schema and
 * nothing else: no superuser, no CREATEDB/CREATEROLE, no membership in any role (so neither
 * `pg_execute_server_program` nor `pg_read_server_files`/`pg_write_server_files`). The
 * superuser only runs migrations and this setup, which is idempotent: run on every start, it
 * also hands the role the objects a new migration created.
 * @module
 */
import { createHmac } from 'node:crypto';
import pg from 'pg';
import { quoteSchema } from '../../src/core/schema-name.ts';

export const DEV_ROLE = 'task_worker_dev';

/**
 * The role's password on a Postgres given by DATABASE_URL: derived from that URL (secret to
 * whoever may use it, and they are admins there anyway), so every data folder, project or test
 * run using the same server sets the same password. A per-folder secret would make each start
 * change it under the others, whose new connections would then fail.
 */
export function externalRolePassword(adminUrl: string): string {
  return `dev_${createHmac('sha256', adminUrl).update('edge-task-worker dev role').digest('base64url').slice(0, 32)}`;
}

/** Why the role could not be set up (the caller then keeps the URL it was given). */
export class DevRoleUnavailable extends Error {
  override name = 'DevRoleUnavailable';
}

const CURRENT_USER_RIGHTS = `select rolsuper, rolcreaterole from pg_roles where rolname = current_user`;
const ROLE_EXISTS = `select 1 from pg_roles where rolname = $1`;
const ROLE_MEMBERSHIPS = `select roleid::regrole::text as role from pg_auth_members where member = $1::regrole`;
// Relations of the schema, except sequences owned by a column (they follow their table) and
// indexes (they follow theirs).
const SCHEMA_RELATIONS = `select c.oid::regclass::text as name, c.relkind
  from pg_class c
  where c.relnamespace = $1::regnamespace
    and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
    and not exists (
      select 1 from pg_depend d
      where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype in ('a', 'i')
    )
    and pg_get_userbyid(c.relowner) <> $2`;
const SCHEMA_ROUTINES = `select p.oid::regprocedure::text as name, p.prokind
  from pg_proc p
  where p.pronamespace = $1::regnamespace and pg_get_userbyid(p.proowner) <> $2`;
// Enums, domains, ranges and composite types of the schema (array and multirange types follow
// theirs; a table's row type follows the table).
const SCHEMA_TYPES = `select t.oid::regtype::text as name
  from pg_type t
  left join pg_class c on c.oid = t.typrelid
  where t.typnamespace = $1::regnamespace
    and (t.typtype in ('d', 'e', 'r') or (t.typtype = 'c' and c.relkind = 'c'))
    and pg_get_userbyid(t.typowner) <> $2`;

const RELATION_KIND: Record<string, string> = {
  r: 'table',
  p: 'table',
  f: 'foreign table',
  v: 'view',
  m: 'materialized view',
  S: 'sequence',
};

/**
 * Creates or updates the dev role with `password`, makes it the owner of `schema` and of
 * everything in it, and returns its URL (the admin URL with the role's user and password).
 * @throws DevRoleUnavailable when the admin user may not create roles, or the role cannot log
 *   in afterwards (e.g. the server's pg_hba.conf refuses password logins).
 */
export async function ensureDevRole(
  adminUrl: string,
  options: { schema: string; password: string },
): Promise<string> {
  const schema = quoteSchema(options.schema);
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'task-worker dev setup' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const rights = (await client.query(CURRENT_USER_RIGHTS)).rows[0] as
      { rolsuper: boolean; rolcreaterole: boolean } | undefined;
    if (!rights?.rolsuper && !rights?.rolcreaterole) {
      throw new DevRoleUnavailable('the user of DATABASE_URL may not create roles');
    }
    const role = client.escapeIdentifier(DEV_ROLE);
    // Only a superuser may set REPLICATION/BYPASSRLS, and only a superuser can have given them.
    const attributes = `login nosuperuser nocreatedb nocreaterole${rights.rolsuper ? ' noreplication nobypassrls' : ''}`;
    const password = client.escapeLiteral(options.password);
    await client.query('begin');
    try {
      const exists = (await client.query(ROLE_EXISTS, [DEV_ROLE])).rowCount! > 0;
      await client.query(
        exists
          ? `alter role ${role} with ${attributes} password ${password}`
          : `create role ${role} with ${attributes} password ${password}`,
      );
      for (const { role: granted } of (await client.query(ROLE_MEMBERSHIPS, [DEV_ROLE])).rows as Array<{
        role: string;
      }>) {
        await client.query(`revoke ${granted} from ${role}`);
      }
      await client.query(`alter schema ${schema} owner to ${role}`);
      const relations = (await client.query(SCHEMA_RELATIONS, [options.schema, DEV_ROLE])).rows as Array<{
        name: string;
        relkind: string;
      }>;
      for (const relation of relations) {
        await client.query(`alter ${RELATION_KIND[relation.relkind]} ${relation.name} owner to ${role}`);
      }
      const routines = (await client.query(SCHEMA_ROUTINES, [options.schema, DEV_ROLE])).rows as Array<{
        name: string;
        prokind: string;
      }>;
      for (const routine of routines) {
        const kind =
          routine.prokind === 'p' ? 'procedure' : routine.prokind === 'a' ? 'aggregate' : 'function';
        await client.query(`alter ${kind} ${routine.name} owner to ${role}`);
      }
      const types = (await client.query(SCHEMA_TYPES, [options.schema, DEV_ROLE])).rows as Array<{
        name: string;
      }>;
      for (const type of types) await client.query(`alter type ${type.name} owner to ${role}`);
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    }
  } finally {
    await client.end().catch(() => undefined);
  }
  const url = new URL(adminUrl);
  url.username = DEV_ROLE;
  url.password = options.password;
  const check = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
  check.on('error', () => undefined);
  try {
    await check.connect();
  } catch (error) {
    throw new DevRoleUnavailable(`${DEV_ROLE} cannot log in: ${String(error)}`);
  } finally {
    await check.end().catch(() => undefined);
  }
  return url.toString();
}

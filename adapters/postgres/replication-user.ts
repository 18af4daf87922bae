import { type Kysely, sql } from "kysely";
import { HEARTBEAT_SCHEMA, OUTBOX_SCHEMA, OUTBOX_TABLE } from "../../domain/contracts";
import type { Database } from "./schema";

export { HEARTBEAT_SCHEMA };

export interface ReplicationUser {
  readonly username: string;
  readonly password: string;
}

/** Renders a statement with identifiers and literals quoted by the server itself (format %I, %L). */
const formatted = async (db: Kysely<Database>, template: string, ...args: ReadonlyArray<string>): Promise<string> => {
  const placeholders = args.map((_, i) => sql`${args[i]}::text`);
  const result = await sql<{ statement: string }>`SELECT format(${template}, ${sql.join(placeholders)}) AS statement`.execute(db);
  return result.rows[0]!.statement;
};

/**
 * The user that log tailing connects as (DMS on AWS): it may log in, replicate and read
 * the outbox, nothing else. DMS cannot use the RDS-managed master secret, so the deploy's
 * migrate step creates this user from its own secret. Idempotent; a changed password is
 * applied. Runs as a superuser (locally) or as the RDS/Aurora master user, which is
 * NOSUPERUSER CREATEROLE: it may not set the REPLICATION attribute, so there replication is
 * the `rds_replication` role, which the master holds WITH ADMIN OPTION.
 */
export const ensureReplicationUser = async (db: Kysely<Database>, user: ReplicationUser): Promise<void> => {
  const exists = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = ${user.username}`.execute(db);
  const verb = exists.rows[0]?.n === 1 ? "ALTER" : "CREATE";
  await sql.raw(await formatted(db, `${verb} ROLE %I LOGIN PASSWORD %L`, user.username, user.password)).execute(db);
  const rds = await sql<{ rds: boolean }>`
    SELECT NOT rolsuper AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_replication') AS rds
      FROM pg_roles WHERE rolname = current_user`.execute(db);
  const grant = rds.rows[0]?.rds === true ? "GRANT rds_replication TO %I" : "ALTER ROLE %I REPLICATION";
  await sql.raw(await formatted(db, grant, user.username)).execute(db);
  await sql.raw(await formatted(db, "GRANT USAGE ON SCHEMA %I TO %I", OUTBOX_SCHEMA, user.username)).execute(db);
  await sql.raw(await formatted(db, "GRANT SELECT ON %I.%I TO %I", OUTBOX_SCHEMA, OUTBOX_TABLE, user.username)).execute(db);
  // DMS creates its heartbeat table here (the endpoint's `heartbeat_schema`) and writes to it.
  // The schema is the migrating user's: PostgreSQL 16 lets a CREATEROLE non-superuser give
  // an object only to a role it may SET ROLE to, which the roles it creates are not. One an
  // older deploy left owned by the replication user already serves, and is not ours to grant on.
  await sql.raw(await formatted(db, "CREATE SCHEMA IF NOT EXISTS %I", HEARTBEAT_SCHEMA)).execute(db);
  const granted = await sql<{ granted: boolean }>`
    SELECT has_schema_privilege(${user.username}::name, ${HEARTBEAT_SCHEMA}::text, 'USAGE')
       AND has_schema_privilege(${user.username}::name, ${HEARTBEAT_SCHEMA}::text, 'CREATE') AS granted`.execute(db);
  if (granted.rows[0]?.granted !== true) {
    await sql.raw(await formatted(db, "GRANT USAGE, CREATE ON SCHEMA %I TO %I", HEARTBEAT_SCHEMA, user.username)).execute(db);
  }
};

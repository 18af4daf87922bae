import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import { Client } from "pg";
import { createDb, createPool } from "../../adapters/postgres/pool";
import { HEARTBEAT_SCHEMA } from "../../adapters/postgres/replication-user";
import type { Database } from "../../adapters/postgres/schema";
import { migrateAndSeed } from "../../handlers/migrate";

/**
 * The migrate step as it runs on RDS/Aurora: as the master user, which is NOSUPERUSER
 * CREATEROLE, a member of rds_superuser, and holds rds_replication WITH ADMIN OPTION.
 */

const serverUrl = (): string => {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set: run through jest (global setup) or set it");
  return url;
};

const urlOf = (database: string, user?: { username: string; password: string }): string => {
  const url = new URL(serverUrl());
  url.pathname = `/${database}`;
  if (user) {
    url.username = user.username;
    url.password = user.password;
  }
  return url.toString();
};

const asSuperuser = async <T>(database: string, work: (client: Client) => Promise<T>): Promise<T> => {
  const client = new Client({ connectionString: urlOf(database) });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
};

// rds_superuser and rds_replication are cluster-wide: every file using them holds this
// advisory lock shared (on the `postgres` database, since advisory locks are per database),
// and the last one out, the one that gets it exclusively, drops them.
const RDS_ROLES_LOCK = 7_305_114_001;

const RDS_ROLES = `
  DO $$
  DECLARE r text;
  BEGIN
    FOREACH r IN ARRAY ARRAY['rds_superuser', 'rds_replication'] LOOP
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
        BEGIN
          EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; -- created meanwhile
        END;
      END IF;
    END LOOP;
  END $$`;

interface RdsLikeDatabase {
  readonly name: string;
  readonly master: { username: string; password: string };
  /** Kysely as the master user, the way the migrate Lambda connects. */
  readonly db: Kysely<Database>;
  drop(extraRoles: ReadonlyArray<string>): Promise<void>;
}

const rdsLikeDatabase = async (): Promise<RdsLikeDatabase> => {
  const suffix = randomBytes(6).toString("hex");
  const name = `t_rds_${suffix}`;
  const master = { username: `master_${suffix}`, password: `pw ${suffix} 'quoted'` };
  const lock = new Client({ connectionString: urlOf("postgres") });
  await lock.connect();
  try {
    await lock.query("SELECT pg_advisory_lock_shared($1)", [RDS_ROLES_LOCK]);
    await asSuperuser("postgres", async (admin) => {
      await admin.query(RDS_ROLES);
      const { rows } = await admin.query<{ statement: string }>(
        "SELECT format('CREATE ROLE %I LOGIN PASSWORD %L NOSUPERUSER CREATEROLE CREATEDB IN ROLE rds_superuser', $1::text, $2::text) AS statement",
        [master.username, master.password],
      );
      await admin.query(rows[0]!.statement);
      await admin.query(`GRANT rds_replication TO ${master.username} WITH ADMIN OPTION`);
      await admin.query(`CREATE DATABASE ${name} OWNER ${master.username}`);
    });
    await asSuperuser(name, (admin) => admin.query(`ALTER SCHEMA public OWNER TO ${master.username}`));
  } catch (error) {
    await lock.end();
    throw error;
  }
  const pool = createPool({ connectionString: urlOf(name, master), max: 2, onIdleError: () => undefined });
  const db = createDb(pool);
  return {
    name,
    master,
    db,
    drop: async (extraRoles) => {
      await db.destroy();
      try {
        await asSuperuser("postgres", async (admin) => {
          await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          for (const role of [...extraRoles, master.username]) await admin.query(`DROP ROLE IF EXISTS ${role}`);
        });
        await lock.query("SELECT pg_advisory_unlock_shared($1)", [RDS_ROLES_LOCK]);
        const { rows } = await lock.query<{ alone: boolean }>("SELECT pg_try_advisory_lock($1) AS alone", [RDS_ROLES_LOCK]);
        if (rows[0]!.alone) {
          await lock.query("DROP ROLE IF EXISTS rds_replication");
          await lock.query("DROP ROLE IF EXISTS rds_superuser");
          await lock.query("SELECT pg_advisory_unlock($1)", [RDS_ROLES_LOCK]);
        }
      } finally {
        await lock.end();
      }
    },
  };
};

/** A session as the replication user (what DMS connects as). */
const asReplicationUser = async <T>(
  database: RdsLikeDatabase,
  user: { username: string; password: string },
  work: (client: Client) => Promise<T>,
): Promise<T> => {
  const client = new Client({ connectionString: urlOf(database.name, user) });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
};

const heartbeat = `${HEARTBEAT_SCHEMA}.awsdms_heartbeat`;

/** What DMS does with its heartbeat table, every few seconds: create it once, then write. */
const beat = async (client: Client): Promise<void> => {
  await client.query(`CREATE TABLE IF NOT EXISTS ${heartbeat} (id int PRIMARY KEY, at timestamptz NOT NULL)`);
  await client.query(`INSERT INTO ${heartbeat} VALUES (1, now()) ON CONFLICT (id) DO NOTHING`);
  await client.query(`UPDATE ${heartbeat} SET at = now() WHERE id = 1`);
};

/** Owner and privileges of the heartbeat schema, and the replication user's role and memberships. */
const grants = async (database: RdsLikeDatabase, username: string): Promise<unknown> =>
  asSuperuser(database.name, async (admin) => {
    const schema = await admin.query(
      "SELECT nspowner::regrole::text AS owner, nspacl::text AS acl FROM pg_namespace WHERE nspname = $1",
      [HEARTBEAT_SCHEMA],
    );
    const role = await admin.query(
      `SELECT r.rolcanlogin, r.rolreplication, r.rolsuper, r.rolcreaterole,
              array(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                     WHERE m.member = r.oid ORDER BY 1) AS member_of
         FROM pg_roles r WHERE r.rolname = $1`,
      [username],
    );
    return { schema: schema.rows, role: role.rows };
  });

describe("the replication user, created by the migrate step as an RDS-like master user", () => {
  let database: RdsLikeDatabase;
  const user = { username: `dms_replication_${randomBytes(6).toString("hex")}`, password: "first 'quoted' password" };
  beforeAll(async () => (database = await rdsLikeDatabase()));
  afterAll(async () => database?.drop([user.username]));

  it("is created, may log in, read the outbox and keep the DMS heartbeat, twice over", async () => {
    const first = await migrateAndSeed(database.db, user);
    expect(first.migrations.length).toBeGreaterThan(0);

    // Replication through rds_replication: the master may not set the REPLICATION attribute.
    const created = await grants(database, user.username);
    expect(created).toMatchObject({
      role: [{ rolcanlogin: true, rolreplication: false, rolsuper: false, rolcreaterole: false, member_of: ["rds_replication"] }],
    });

    await asReplicationUser(database, user, async (tailer) => {
      await expect(tailer.query("SELECT count(*) FROM public.outbox")).resolves.toBeDefined();
      await beat(tailer);
      await expect(
        tailer.query(
          `INSERT INTO public.outbox (id, aggregate_type, aggregate_id, event_type, event_version, payload, occurred_at)
           VALUES (gen_random_uuid(), 'order', '1', 'OrderPlaced', 1, '{}', now())`,
        ),
      ).rejects.toThrow(/permission denied/);
      await expect(tailer.query("DELETE FROM public.outbox")).rejects.toThrow(/permission denied/);
      await expect(tailer.query('SELECT count(*) FROM public."order"')).rejects.toThrow(/permission denied/);
    });

    // The next deploy, with the heartbeat table there: no error, nothing changes.
    const second = await migrateAndSeed(database.db, user);
    expect(second).toEqual({ migrations: [], productsInserted: 0, clientsInserted: 0 });
    expect(await grants(database, user.username)).toEqual(created);
    await asReplicationUser(database, user, async (tailer) => {
      await beat(tailer);
      const rows = await tailer.query(`SELECT count(*)::int AS n FROM ${heartbeat}`);
      expect(rows.rows).toEqual([{ n: 1 }]);
    });
  });

  it("keeps a heartbeat schema that an older deploy left owned by the replication user", async () => {
    await asSuperuser(database.name, async (admin) => {
      await admin.query(`DROP SCHEMA IF EXISTS ${HEARTBEAT_SCHEMA} CASCADE`);
      await admin.query(`CREATE SCHEMA ${HEARTBEAT_SCHEMA} AUTHORIZATION ${user.username}`);
    });
    await asReplicationUser(database, user, beat);
    const before = await grants(database, user.username);

    const next = { username: user.username, password: "second password" };
    await expect(migrateAndSeed(database.db, next)).resolves.toEqual({ migrations: [], productsInserted: 0, clientsInserted: 0 });
    expect(await grants(database, user.username)).toEqual(before);
    await asReplicationUser(database, next, async (tailer) => {
      await beat(tailer);
      await expect(tailer.query(`CREATE TABLE ${HEARTBEAT_SCHEMA}.probe (id int)`)).resolves.toBeDefined();
    });
  });
});

import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import { Client, type Pool } from "pg";
import { createDb, createPool } from "../../adapters/postgres/pool";
import type { Database } from "../../adapters/postgres/schema";
import { migrateAndSeed } from "../../handlers/migrate";

export interface TestDatabase {
  readonly url: string;
  readonly pool: Pool;
  readonly db: Kysely<Database>;
  /** Row count of every table of the command database. */
  counts(): Promise<Record<"product" | "client" | "order" | "order_item" | "outbox", number>>;
  drop(): Promise<void>;
}

/** The harness's server (the `postgres` database), from the global setup. */
export const serverUrl = (): string => {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is not set: run through jest (global setup) or set it");
  return url;
};

/** The URL of database `name` on the harness's server. */
export const databaseUrl = (name: string): string => {
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return url.toString();
};

/**
 * A new, empty database on the harness's server, so test files running in parallel never
 * see each other's rows. Dropped (with its connections) by `drop()`.
 */
export const freshDatabase = async (poolSize = 5): Promise<TestDatabase> => {
  const name = `t_${randomBytes(6).toString("hex")}`;
  const admin = new Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(name);
  // Dropping the database at the end closes idle connections on purpose.
  const pool = createPool({ connectionString: url, max: poolSize, onIdleError: () => undefined });
  const db = createDb(pool);
  return {
    url,
    pool,
    db,
    counts: async () => {
      const result = await pool.query<Record<string, number>>(
        `SELECT (SELECT count(*) FROM product) AS product, (SELECT count(*) FROM client) AS client,
                (SELECT count(*) FROM "order") AS "order", (SELECT count(*) FROM order_item) AS order_item,
                (SELECT count(*) FROM outbox) AS outbox`,
      );
      return result.rows[0] as Record<"product" | "client" | "order" | "order_item" | "outbox", number>;
    },
    drop: async () => {
      await db.destroy();
      const dropper = new Client({ connectionString: serverUrl() });
      await dropper.connect();
      try {
        await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
};

/** A fresh database with every migration and the seed applied. */
export const migratedDatabase = async (poolSize = 5): Promise<TestDatabase> => {
  const database = await freshDatabase(poolSize);
  await migrateAndSeed(database.db);
  return database;
};

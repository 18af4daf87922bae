import type { Kysely } from "kysely";
import { readJsonSecret } from "../../adapters/aws/secrets";
import { poolOptionsFor, readDatabaseConfig } from "../../adapters/postgres/config";
import { createDb, createPool } from "../../adapters/postgres/pool";
import type { Database } from "../../adapters/postgres/schema";

let db: Promise<Kysely<Database>> | undefined;

/**
 * The container's database handle, built on first use and reused by warm invocations.
 * Configuration is read here, at cold start, and a bad one fails loudly.
 */
export const sharedDb = (max = Number(process.env.DB_POOL_MAX ?? "2")): Promise<Kysely<Database>> => {
  db ??= (async () => {
    const options = await poolOptionsFor(readDatabaseConfig(process.env), readJsonSecret, max);
    return createDb(createPool({ ...options, applicationName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? "cqrs-outbox" }));
  })();
  db.catch(() => (db = undefined));
  return db;
};

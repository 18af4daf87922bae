import type { Kysely } from "kysely";
import { readJsonSecret } from "../../adapters/aws/secrets";
import { poolOptionsFor, readDatabaseSettings } from "../../adapters/postgres/config";
import { createDb, createPool } from "../../adapters/postgres/pool";
import type { Database } from "../../adapters/postgres/schema";
import { once } from "./configuration";

/**
 * The container's database settings (where, as whom, DB_POOL_MAX), read and checked once; a
 * bad one throws the same error at every use. Entry points pass it to `configuredEntry`.
 */
export const databaseSettings = once(() => ({
  ...readDatabaseSettings(process.env),
  applicationName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? "cqrs-outbox",
}));

let db: Promise<Kysely<Database>> | undefined;

/**
 * The container's database handle, built on first use and reused by warm invocations. A
 * failure to build it (the secret unreadable) is not kept: the next call tries again.
 */
export const sharedDb = (): Promise<Kysely<Database>> => {
  const settings = databaseSettings();
  db ??= (async () => {
    const options = await poolOptionsFor(settings.connection, readJsonSecret, settings.poolMax);
    return createDb(createPool({ ...options, applicationName: settings.applicationName }));
  })();
  db.catch(() => (db = undefined));
  return db;
};

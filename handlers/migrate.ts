import type { Kysely } from "kysely";
import { migrateToLatest } from "../adapters/postgres/migrate";
import type { Database } from "../adapters/postgres/schema";
import { seed } from "../adapters/postgres/seed";
import { sharedDb } from "./database";
import { logger } from "./logger";

export interface MigrateResult {
  readonly migrations: ReadonlyArray<string>;
  readonly productsInserted: number;
  readonly clientsInserted: number;
}

/** Migrations to latest, then the seed; safe to run any number of times. */
export const migrateAndSeed = async (db: Kysely<Database>): Promise<MigrateResult> => {
  const { migrations } = await migrateToLatest(db);
  const seeded = await seed(db);
  return { migrations, ...seeded };
};

/**
 * Lambda entry point, invoked by `aws_lambda_invocation` at deploy time (and by the local
 * runtime at start). Throws on failure so the deploy stops instead of going on half-migrated.
 */
export const handler = async (): Promise<MigrateResult> => {
  const result = await migrateAndSeed(await sharedDb(1));
  logger.info("database migrated", { ...result });
  return result;
};

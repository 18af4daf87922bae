import type { Kysely } from "kysely";
import { migrateToLatest } from "../adapters/postgres/migrate";
import { readJsonSecret } from "../adapters/aws/secrets";
import { readUserSecret } from "../adapters/aws/user-secret";
import { ensureReplicationUser, type ReplicationUser } from "../adapters/postgres/replication-user";
import type { Database } from "../adapters/postgres/schema";
import { seed } from "../adapters/postgres/seed";
import { configuredEntry, once } from "./support/configuration";
import { databaseSettings, sharedDb } from "./support/database";
import { logger } from "./support/logger";

export interface MigrateResult {
  readonly migrations: ReadonlyArray<string>;
  readonly productsInserted: number;
  readonly clientsInserted: number;
}

/** Migrations to latest, then the seed; safe to run any number of times. */
export const migrateAndSeed = async (db: Kysely<Database>, replicationUser?: ReplicationUser): Promise<MigrateResult> => {
  const { migrations } = await migrateToLatest(db);
  const seeded = await seed(db);
  if (replicationUser !== undefined) await ensureReplicationUser(db, replicationUser);
  return { migrations, ...seeded };
};

/** REPLICATION_SECRET_ARN names the log tailer's user's secret (on AWS); unset locally. */
const replicationSecretArn = once((): string | undefined => process.env.REPLICATION_SECRET_ARN || undefined);

/** The log tailer's user, from its secret. */
const replicationUserFromEnv = async (): Promise<ReplicationUser | undefined> => {
  const secretArn = replicationSecretArn();
  return secretArn === undefined ? undefined : readUserSecret(readJsonSecret, secretArn);
};

/**
 * Lambda entry point, invoked by `aws_lambda_invocation` at deploy time (and by the local
 * runtime at start). Throws on failure so the deploy stops instead of going on half-migrated.
 */
export const handler = configuredEntry([databaseSettings, replicationSecretArn], async (): Promise<MigrateResult> => {
  // Its pool size is DB_POOL_MAX like everyone's (1 for this function, see infra/functions.ts).
  const result = await migrateAndSeed(await sharedDb(), await replicationUserFromEnv());
  logger.info("database migrated", { ...result });
  return result;
});

// `npm run reproject`: rebuild every client view in Redis from PostgreSQL, the source of truth.
// Uses DATABASE_URL and REDIS_URL (or their AWS equivalents, see README).
import { readJsonSecret } from "../adapters/aws/secrets";
import { poolOptionsFor, readDatabaseConfig } from "../adapters/postgres/config";
import { createDb, createPool } from "../adapters/postgres/pool";
import { createClientViewStore } from "../adapters/redis/client-view-store.redis";
import { connectRedis, readRedisConfig } from "../adapters/redis/connection";
import { reprojectAll } from "../handlers/support/reproject-views";

const main = async (): Promise<void> => {
  const db = createDb(createPool(await poolOptionsFor(readDatabaseConfig(process.env), readJsonSecret, 2)));
  const redis = await connectRedis(readRedisConfig(process.env), readJsonSecret);
  const started = Date.now();
  try {
    const summary = await reprojectAll({
      db,
      views: createClientViewStore(redis),
      onProgress: (done) => process.stderr.write(`\rreprojected ${done} clients`),
    });
    process.stderr.write("\n");
    console.log(
      `reprojected ${summary.clients} client views (${summary.markers} applied-event markers) in ${Date.now() - started} ms; read model generation ${summary.generation}`,
    );
  } finally {
    await db.destroy();
    redis.disconnect();
  }
};

main().catch((error: unknown) => {
  console.error(`reproject failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

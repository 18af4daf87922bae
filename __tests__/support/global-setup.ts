import { appendFileSync } from "node:fs";
import { startEmbeddedPostgres, type RunningPostgres } from "../../local/embedded-postgres";
import { startRedisServer, type RunningRedis } from "../../local/redis-server";

/**
 * Starts, once per jest run, an embedded PostgreSQL 16 with `wal_level=logical` and a
 * `redis-server`, each on a free port, and hands their URLs to the suites through the
 * environment (jest's workers inherit it). DATABASE_URL / REDIS_URL, when set, win.
 * Jest runs the global setup of every selected project; the first one starts the servers.
 */
/** PostgreSQL's own log goes to the file named by HARNESS_PG_LOG, when set. */
const postgresLog = (): ((line: string) => void) | undefined => {
  const file = process.env.HARNESS_PG_LOG;
  return file ? (line) => appendFileSync(file, line.endsWith("\n") ? line : `${line}\n`) : undefined;
};

interface Harness {
  postgres?: RunningPostgres;
  redis?: RunningRedis;
}

const state = globalThis as typeof globalThis & { __cqrsHarness?: Harness };

export default async function globalSetup(): Promise<void> {
  if (state.__cqrsHarness !== undefined) return;
  const harness: Harness = {};
  state.__cqrsHarness = harness;
  const [postgres, redis] = await Promise.all([
    process.env.DATABASE_URL ? undefined : startEmbeddedPostgres({ onLog: postgresLog() }),
    process.env.REDIS_URL ? undefined : startRedisServer(),
  ]);
  if (postgres) {
    harness.postgres = postgres;
    process.env.DATABASE_URL = postgres.url;
  }
  if (redis) {
    harness.redis = redis;
    process.env.REDIS_URL = redis.url;
  }
}

export const stopHarness = async (): Promise<void> => {
  const harness = state.__cqrsHarness;
  if (harness === undefined) return;
  state.__cqrsHarness = undefined;
  await Promise.all([harness.postgres?.stop(), harness.redis?.stop()]);
};

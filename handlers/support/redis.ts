import type { Redis } from "ioredis";
import { readJsonSecret } from "../../adapters/aws/secrets";
import { connectRedis, readRedisConfig } from "../../adapters/redis/connection";

let redis: Promise<Redis> | undefined;

/** The container's Redis connection, made on first use and reused by warm invocations. */
export const sharedRedis = (): Promise<Redis> => {
  redis ??= connectRedis(readRedisConfig(process.env), readJsonSecret);
  redis.catch(() => (redis = undefined));
  return redis;
};

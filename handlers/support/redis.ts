import type { Redis } from "ioredis";
import { readJsonSecret } from "../../adapters/aws/secrets";
import { connectRedis, readRedisConfig } from "../../adapters/redis/connection";
import { once } from "./configuration";

/** Where the read model is, read and checked once; entry points pass it to `configuredEntry`. */
export const redisSettings = once(() => readRedisConfig(process.env));

let redis: Promise<Redis> | undefined;

/** The container's Redis connection, made on first use and reused by warm invocations. */
export const sharedRedis = (): Promise<Redis> => {
  const settings = redisSettings();
  redis ??= connectRedis(settings, readJsonSecret);
  redis.catch(() => (redis = undefined));
  return redis;
};

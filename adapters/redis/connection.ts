import { Redis } from "ioredis";
import type { SecretReader } from "../aws/user-secret";

/**
 * Where the read model is, read once at cold start:
 * - `REDIS_URL` (local runtime, tests; `rediss://` for TLS);
 * - on AWS, `REDIS_HOST` (+ `REDIS_PORT`) and `REDIS_AUTH_SECRET_ARN`, a secret whose
 *   `authToken` is ElastiCache's AUTH token; TLS always.
 */
export type RedisConfig =
  /** `keyPrefix` puts every key under a prefix (the local runtime's tests share one server). */
  | { readonly kind: "url"; readonly url: string; readonly keyPrefix?: string }
  | { readonly kind: "secret"; readonly host: string; readonly port: number; readonly secretArn: string };

export const readRedisConfig = (env: NodeJS.ProcessEnv): RedisConfig => {
  if (env.REDIS_URL) return { kind: "url", url: env.REDIS_URL };
  const missing = ["REDIS_HOST", "REDIS_AUTH_SECRET_ARN"].filter((name) => !env[name]);
  if (missing.length > 0) throw new Error(`redis configuration missing: set REDIS_URL, or ${missing.join(" and ")} (with optional REDIS_PORT)`);
  const port = Number(env.REDIS_PORT ?? "6379");
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`REDIS_PORT is not a port: ${env.REDIS_PORT}`);
  return { kind: "secret", host: env.REDIS_HOST as string, port, secretArn: env.REDIS_AUTH_SECRET_ARN as string };
};

const COMMON = {
  // Fail a command fast instead of queueing it forever while Redis is away: SQS redelivers.
  maxRetriesPerRequest: 2,
  connectTimeout: 5_000,
  // A half-open socket after a Lambda freeze must not hang the invocation until its timeout.
  commandTimeout: 2_000,
  // No auto-pipelining: it gathers each tick's commands in an ioredis `Pipeline`, whose
  // constructor gives every instance a getter closure of its own (`length`). V8 keeps such
  // an object's getter in a hidden class of its own, in the old generation, so every
  // pipeline, its commands and what they reached outlived the young generation: the
  // runtime's CDC thread promoted 7 MB/s at 2700 events/s, 0.6 MB/s without, and ran a full
  // collection every few seconds, each a cluster of late events. A batch's commands are
  // still all written before the first reply comes back.
  enableAutoPipelining: false,
} as const;

/** The one way every process connects to the read model. A URL config reads no secret. */
export const connectRedis = async (config: RedisConfig, readSecret?: SecretReader): Promise<Redis> => {
  if (config.kind === "url") return new Redis(config.url, { ...COMMON, ...(config.keyPrefix ? { keyPrefix: config.keyPrefix } : {}) });
  if (readSecret === undefined) throw new Error(`reading the Redis AUTH token needs a secret reader (secret ${config.secretArn})`);
  const { authToken } = await readSecret(config.secretArn);
  if (typeof authToken !== "string") throw new Error(`secret ${config.secretArn} lacks a string authToken`);
  return new Redis({ ...COMMON, host: config.host, port: config.port, password: authToken, tls: {} });
};

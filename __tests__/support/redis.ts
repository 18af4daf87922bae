import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";

export interface TestRedis {
  /** Opens another connection in the same namespace. */
  connect(): Redis;
  /** Every key of this test's namespace (without the prefix). */
  keys(): Promise<string[]>;
  /** Deletes every key of this namespace. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A private key namespace on the harness's Redis: every connection gets a unique key
 * prefix (ioredis applies it to script keys too), so test files in parallel never meet.
 */
export const freshRedis = (): TestRedis => {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error("REDIS_URL is not set: run through jest (global setup) or set it");
  const prefix = `t${randomBytes(5).toString("hex")}:`;
  const connections: Redis[] = [];
  const connect = (): Redis => {
    const redis = new Redis(url, { keyPrefix: prefix, maxRetriesPerRequest: 2 });
    connections.push(redis);
    return redis;
  };
  const admin = new Redis(url, { maxRetriesPerRequest: 2 });
  const keys = async (): Promise<string[]> => {
    const found: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== "0");
    return found.map((key) => key.slice(prefix.length));
  };
  return {
    connect,
    keys,
    flush: async () => {
      const all = await keys();
      for (let i = 0; i < all.length; i += 500) await admin.del(...all.slice(i, i + 500).map((k) => prefix + k));
    },
    close: async () => {
      await Promise.all([...connections, admin].map((c) => c.quit().catch(() => undefined)));
    },
  };
};

import Redis from "ioredis";
import { Client } from "pg";

describe("test harness", () => {
  it("gives the suites a PostgreSQL 16 with logical replication", async () => {
    const client = new Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    try {
      const walLevel = await client.query<{ wal_level: string }>("SHOW wal_level");
      expect(walLevel.rows[0]?.wal_level).toBe("logical");
      const version = await client.query<{ server_version_num: string }>("SHOW server_version_num");
      expect(Number(version.rows[0]?.server_version_num)).toBeGreaterThanOrEqual(160000);
    } finally {
      await client.end();
    }
  });

  it("gives the suites a Redis server", async () => {
    const redis = new Redis(process.env.REDIS_URL as string, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    try {
      expect(await redis.ping()).toBe("PONG");
      const key = `harness:${process.pid}`;
      await redis.set(key, "ok", "EX", 5);
      expect(await redis.get(key)).toBe("ok");
    } finally {
      redis.disconnect();
    }
  });
});

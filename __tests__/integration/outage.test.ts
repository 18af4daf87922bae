import { Redis } from "ioredis";
import { Client } from "pg";
import { createDb, createPool } from "../../adapters/postgres/pool";
import { createClientViewStore } from "../../adapters/redis/client-view-store.redis";
import { makeGetClientHandler } from "../../handlers/get-client";
import { makePlaceOrderHandler, placeOrderDeps } from "../../handlers/place-order";
import { freePort } from "../../local/free-port";
import { apiGatewayEvent, postOrder } from "../support/api-gateway";
import { migratedDatabase, type TestDatabase } from "../support/database";

let database: TestDatabase;

beforeAll(async () => {
  database = await migratedDatabase(2);
});

afterAll(async () => {
  await database.drop();
});

const order = () => postOrder({ id_client: 1, products: [{ id_product: 1, quantity: 1 }] });

/** Ends every backend of `applicationName` on the test database, as a failover or restart would. */
const terminateBackends = async (applicationName: string): Promise<number> => {
  const admin = new Client({ connectionString: database.url });
  await admin.connect();
  try {
    const result = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
      [applicationName],
    );
    return result.rowCount ?? 0;
  } finally {
    await admin.end();
  }
};

const until = async (condition: () => boolean, what: string): Promise<void> => {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

const expect503 = (response: { statusCode: number; headers?: Record<string, unknown>; body: string }) => {
  expect(response.statusCode).toBe(503);
  expect(response.headers).toEqual(expect.objectContaining({ "retry-after": "1" }));
  expect(JSON.parse(response.body)).toEqual({
    statusCode: 503,
    body: "Service unavailable; retry shortly",
    code: "Unavailable",
    requestId: expect.any(String),
  });
};

describe("during an outage", () => {
  it("a POST answers 503 with Retry-After when PostgreSQL refuses connections", async () => {
    const pool = createPool({ connectionString: `postgres://postgres:postgres@127.0.0.1:${await freePort()}/postgres`, max: 1 });
    const db = createDb(pool);
    try {
      expect503(await makePlaceOrderHandler(async () => placeOrderDeps(db))(order()));
    } finally {
      await db.destroy();
    }
  });

  it("a POST answers 503, and writes nothing, when its connection is killed inside the transaction", async () => {
    const applicationName = "outage-test-kill";
    const lost: Error[] = [];
    const pool = createPool({ connectionString: database.url, max: 1, applicationName, onIdleError: (e) => lost.push(e) });
    const db = createDb(pool);
    try {
      const before = await database.counts();
      const response = await makePlaceOrderHandler(async () =>
        placeOrderDeps(db, { beforeCommit: async () => void (await terminateBackends(applicationName)) }),
      )(order());
      expect503(response);
      expect(await database.counts()).toEqual(before);
      // The pool replaces the dead connection: the next order goes through.
      expect((await makePlaceOrderHandler(async () => placeOrderDeps(db))(order())).statusCode).toBe(200);
    } finally {
      await db.destroy();
    }
  });

  it("a GET answers 503 with Retry-After when Redis is away", async () => {
    // The production options (adapters/redis/connection.ts), plus a short disconnectTimeout:
    // ioredis waits that long for the "close" of a socket that never opened, keeping jest up.
    const redis = new Redis(`redis://127.0.0.1:${await freePort()}`, {
      maxRetriesPerRequest: 2,
      connectTimeout: 5_000,
      commandTimeout: 2_000,
      enableAutoPipelining: true,
      disconnectTimeout: 50,
    });
    redis.on("error", () => undefined);
    try {
      const response = await makeGetClientHandler(async () => ({ views: createClientViewStore(redis) }))(
        apiGatewayEvent({ method: "GET", resource: "/clients/{id_client}", path: "/clients/1", pathParameters: { id_client: "1" } }),
      );
      expect503(response);
    } finally {
      redis.disconnect();
    }
  });
});

describe("the pool", () => {
  it("hears a checked-out connection die between two queries, instead of crashing the process", async () => {
    const applicationName = "outage-test-checked-out";
    const lost: Error[] = [];
    const pool = createPool({ connectionString: database.url, max: 1, applicationName, onIdleError: (e) => lost.push(e) });
    try {
      const client = await pool.connect();
      await client.query("SELECT 1");
      expect(await terminateBackends(applicationName)).toBe(1);
      await until(() => lost.length > 0, "the lost connection to be reported");
      await expect(client.query("SELECT 1")).rejects.toThrow();
      client.release(true);
      expect(lost).toHaveLength(1);
      expect((await pool.query<{ one: number }>("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });

  it("reports an idle connection's death once", async () => {
    const applicationName = "outage-test-idle";
    const lost: Error[] = [];
    const pool = createPool({ connectionString: database.url, max: 1, applicationName, onIdleError: (e) => lost.push(e) });
    try {
      await pool.query("SELECT 1");
      expect(await terminateBackends(applicationName)).toBe(1);
      await until(() => lost.length > 0, "the lost connection to be reported");
      await new Promise((r) => setTimeout(r, 100));
      expect(lost).toHaveLength(1);
      expect((await pool.query<{ one: number }>("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });
});

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makePlaceOrderHandler, placeOrderDeps } from "../../handlers/place-order";
import { startLocalRuntime, type LocalRuntime } from "../../local/runtime";
import { postOrder } from "../support/api-gateway";
import { freshDatabase, type TestDatabase } from "../support/database";
import { everyProbeAnswered } from "../support/health";

/**
 * Orders committed while the pipeline is down are not lost: the replication slot keeps
 * their WAL, and the next start delivers them (the purge of their outbox rows proves they
 * went through the whole fan-out), with totals exact despite the replay. The stream, not a
 * rebuild, brings the totals: a rebuild from PostgreSQL would restore them too, so the test
 * also checks that the read model kept its generation and that no rebuild ran.
 */
let database: TestDatabase;
const dataDir = mkdtempSync(join(tmpdir(), "cqrs-restart-"));
const prefix = `restart${randomBytes(4).toString("hex")}:`;
const credentials = { username: "admin", password: "pw" };
const auth = `Basic ${Buffer.from("admin:pw").toString("base64")}`;

const start = (): Promise<LocalRuntime> =>
  startLocalRuntime({
    databaseUrl: database.url,
    redisUrl: process.env.REDIS_URL as string,
    redisKeyPrefix: prefix,
    dataDir,
    port: 0,
    retryDelayMs: 50,
    credentials,
  });

const eventually = async (check: () => Promise<boolean>): Promise<boolean> => {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
};

interface ReadModelHealth {
  readonly generation: string | null;
  readonly rebuilds: number;
  readonly lastRebuild: unknown;
}

/** The read model's part of `GET /_local/health`, as an operator sees it. */
const readModelOf = async (runtime: LocalRuntime): Promise<ReadModelHealth> => {
  const response = await fetch(runtime.healthUrl);
  return ((await response.json()) as { readModel: ReadModelHealth }).readModel;
};

const clientTotal = async (runtime: LocalRuntime, id: number): Promise<unknown> => {
  const response = await fetch(`${runtime.url}/clients/${id}`, { headers: { authorization: auth } });
  return response.status === 200 ? ((await response.json()) as { total: number }).total : response.status;
};

beforeAll(async () => {
  database = await freshDatabase(2);
});

afterAll(async () => {
  await database.pool.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database()");
  await database.drop();
  // After the test, which stopped its runtimes.
  rmSync(dataDir, { recursive: true, force: true });
});

it("delivers, after a restart, the orders committed while the pipeline was down", async () => {
  const first = await start();
  const placed = await fetch(`${first.url}/orders`, {
    method: "POST",
    headers: { authorization: auth, "content-type": "application/json" },
    body: JSON.stringify({ id_client: 3, products: [{ id_product: 3, quantity: 1 }] }),
  });
  expect(placed.status).toBe(200);
  expect(await eventually(async () => (await clientTotal(first, 3)) === 1000)).toBe(true);
  // Its purge too, so the outbox counted below holds only what the stopped pipeline missed.
  expect(await eventually(async () => (await database.counts()).outbox === 0)).toBe(true);
  const { generation } = await readModelOf(first);
  expect(generation).toEqual(expect.any(String));
  await first.stop();

  // The pipeline is down; the order service (another process on AWS) goes on taking orders.
  const placeOrder = makePlaceOrderHandler(async () => placeOrderDeps(database.db));
  for (let i = 0; i < 5; i++) {
    expect((await placeOrder(postOrder({ id_client: 3, products: [{ id_product: 2, quantity: 1 }] }))).statusCode).toBe(200);
  }
  expect((await database.counts()).outbox).toBe(5);

  const second = await start();
  try {
    expect(await eventually(async () => (await database.counts()).outbox === 0)).toBe(true);
    expect(await eventually(async () => (await clientTotal(second, 3)) === 1000 + 5 * 500)).toBe(true);
    let health = await second.health();
    expect(await eventually(async () => everyProbeAnswered((health = await second.health())))).toBe(true);
    expect(health.queues.projection.deadLetters).toBe(0);
    // Delivered by the stream: the views the first runtime built are the ones updated.
    expect(await readModelOf(second)).toEqual({ generation, rebuilds: 0, lastRebuild: null });
  } finally {
    await second.stop();
  }
});

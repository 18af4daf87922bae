import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrateAndSeed } from "../../handlers/migrate";
import { startLocalRuntime, type Health, type LocalRuntime } from "../../local/runtime";
import { freshDatabase, type TestDatabase } from "../support/database";
import { everyProbeAnswered } from "../support/health";

/**
 * The whole system through real HTTP, exactly like the original sample's curl commands:
 * POST /orders -> PostgreSQL -> WAL -> log tailer -> pipe (enrichment) -> topic -> queues
 * -> projector (Redis) and purger (outbox), then GET /clients/{id}.
 */
let database: TestDatabase;
let runtime: LocalRuntime;
let auth: string;

const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${runtime.url}${path}`, {
    method,
    headers: { authorization: auth, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

/** Polls until `check` passes or 15 s have gone by. */
const eventually = async <T>(probe: () => Promise<T>, check: (value: T) => boolean): Promise<T> => {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await probe();
    if (check(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

let dataDir: string | undefined;

beforeAll(async () => {
  database = await freshDatabase(2);
  dataDir = await mkdtemp(join(tmpdir(), "cqrs-e2e-"));
  // A publication of every operation, as an older runtime made it: the start narrows it.
  await migrateAndSeed(database.db);
  await database.pool.query("CREATE PUBLICATION cqrs_outbox FOR TABLE public.outbox");
  runtime = await startLocalRuntime({
    databaseUrl: database.url,
    redisUrl: process.env.REDIS_URL as string,
    redisKeyPrefix: `e2e${randomBytes(4).toString("hex")}:`,
    dataDir,
    port: 0,
    retryDelayMs: 100,
    credentials: { username: "admin", password: "s3cret" },
  });
  auth = `Basic ${Buffer.from("admin:s3cret").toString("base64")}`;
});

afterAll(async () => {
  await runtime?.stop();
  // The tailer's replication slot lives on the server, not in the database.
  await database.pool.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database()");
  await database.drop();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

describe("the local runtime, over HTTP", () => {
  it("places the original sample's order and serves the client's view once the events flow through", async () => {
    const placed = await call("POST", "/orders", {
      id_client: 1,
      products: [
        { id_product: 1, quantity: 1 },
        { id_product: 2, quantity: 3 },
      ],
    });
    expect(placed.status).toBe(200);
    expect(placed.body).toEqual(expect.objectContaining({ statusCode: 200, body: "Order created successfully!", total: 3000 }));

    const view = await eventually(() => call("GET", "/clients/1"), (r) => r.status === 200);
    expect(view).toEqual({
      status: 200,
      body: { name: "Bob", email: "bob@anemailprovider.com", total: 3000, last_purchase: placed.body.placed_at },
    });

    // The purge consumer empties the outbox once the event was delivered.
    const left = await eventually(() => database.counts(), (counts) => counts.outbox === 0);
    expect(left.outbox).toBe(0);
    expect(left.order).toBe(1);
  });

  it("keeps totals exact under concurrent orders, with idempotent retries", async () => {
    const orders = Array.from({ length: 40 }, (_, i) => ({
      body: { id_client: 2, products: [{ id_product: (i % 3) + 1, quantity: (i % 4) + 1 }] },
      key: `e2e-${i % 30}`,
    }));
    const responses = await Promise.all(orders.map((o) => call("POST", "/orders", o.body, { "Idempotency-Key": o.key })));
    // Keys 0..9 were sent twice with different bodies (i and i+30): one of each pair is refused.
    expect(responses.filter((r) => r.status === 200)).toHaveLength(30);
    expect(responses.filter((r) => r.status === 422)).toHaveLength(10);
    const expected = (
      await database.pool.query<{ total: number; last: number }>(
        `SELECT sum(total_cents)::bigint AS total, max(floor(extract(epoch FROM placed_at)))::bigint AS last FROM "order" WHERE client_id = 2`,
      )
    ).rows[0]!;

    const view = await eventually(() => call("GET", "/clients/2"), (r) => r.body.total === expected.total / 100);
    expect(view.body).toEqual({ name: "Alice", email: "alice@anemailprovider.com", total: expected.total / 100, last_purchase: expected.last });
    // A probe slower than the health endpoint's budget answers null (unknown): ask again then.
    const health = await eventually(() => runtime.health(), everyProbeAnswered);
    expect(health.queues.projection.deadLetters).toBe(0);
    expect(health.quarantine.size).toBe(0);
  });

  it("answers like API Gateway without or with wrong credentials, and for unknown routes", async () => {
    const anonymous = await fetch(`${runtime.url}/clients/1`);
    expect(anonymous.status).toBe(401);
    const wrong = await fetch(`${runtime.url}/clients/1`, { headers: { authorization: `Basic ${Buffer.from("admin:nope").toString("base64")}` } });
    expect(wrong.status).toBe(403);
    expect((await call("GET", "/nowhere")).status).toBe(403);
  });

  it("accepts the deployed stage's /prod prefix, as the seed's URLs have it", async () => {
    const placed = await call("POST", "/prod/orders", { id_client: 3, products: [{ id_product: 3, quantity: 1 }] });
    expect(placed.status).toBe(200);
    const view = await eventually(() => call("GET", "/prod/clients/3"), (r) => r.status === 200);
    expect(view.body).toEqual(expect.objectContaining({ name: "John", total: 1000 }));
  });

  it("reports its health without credentials, and redrives only with them", async () => {
    // Each probe has a short budget; on a loaded machine one may miss it once, so the answer
    // is taken once every probe answered (a real fault keeps it unhealthy and fails below).
    const answer = await eventually(
      async () => {
        const response = await fetch(`${runtime.url}/_local/health`);
        return { status: response.status, health: (await response.json()) as Health };
      },
      ({ status, health }) => status === 200 && everyProbeAnswered(health),
    );
    expect(answer.status).toBe(200);
    const health = answer.health;
    expect(health).toEqual(
      expect.objectContaining({
        healthy: true,
        down: [],
        slot: expect.objectContaining({ streaming: true, confirmedLsn: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+$/), retainedWalBytes: expect.any(Number) }),
        queues: { projection: expect.objectContaining({ deadLetters: 0 }), "outbox-purge": expect.objectContaining({ deadLetters: 0 }) },
        quarantine: { size: 0 },
        readModel: expect.objectContaining({ generation: expect.any(String) }),
      }),
    );
    expect((await fetch(`${runtime.url}/_local/redrive/projection`, { method: "POST" })).status).toBe(401);
    expect((await call("POST", "/_local/redrive/nowhere")).status).toBe(404);
    expect(await call("POST", "/_local/redrive/projection")).toEqual({ status: 200, body: { source: "projection", redriven: 0 } });
  });

  it("streams the outbox's inserts only: the purge's deletes never leave PostgreSQL (an older publication narrowed)", async () => {
    const publication = await database.pool.query(
      "SELECT pubinsert, pubupdate, pubdelete, pubtruncate FROM pg_publication WHERE pubname = 'cqrs_outbox'",
    );
    expect(publication.rows).toEqual([{ pubinsert: true, pubupdate: false, pubdelete: false, pubtruncate: false }]);
  });

  it("rejects bad input over HTTP with nothing written", async () => {
    const before = await database.counts();
    expect((await call("POST", "/orders", "{not json")).body).toEqual(expect.objectContaining({ statusCode: 400, code: "MalformedJson" }));
    expect((await call("POST", "/orders", { id_client: 1, products: [] })).status).toBe(400);
    expect((await call("POST", "/orders", { id_client: 1, products: [{ id_product: 9, quantity: 1 }] })).status).toBe(404);
    expect((await call("GET", "/clients/abc")).status).toBe(400);
    expect(await database.counts()).toEqual(before);
  });
});

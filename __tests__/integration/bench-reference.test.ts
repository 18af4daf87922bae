import { randomBytes } from "node:crypto";
import { Pool } from "pg";
import { startReferencePipeline, type ReferencePipeline } from "../../bench/system/reference";
import { type AppliedWatch, watchApplied } from "../../bench/system/views";
import { startRedisServer, type RunningRedis } from "../../local/redis-server";
import { databaseUrl, serverUrl } from "../support/database";

/*
 * The bench's lag reference: a bare pipeline with the system's hops (bench/system/reference*).
 * The bench goes on without it when it fails, so this is where a broken one is caught: every
 * order it answers must reach Redis as that event's applied marker, as the bench hears it.
 */

const name = `t_reference_${randomBytes(4).toString("hex")}`;
let admin: Pool;
let redis: RunningRedis;
let watch: AppliedWatch;
let reference: ReferencePipeline;

beforeAll(async () => {
  admin = new Pool({ connectionString: serverUrl(), max: 1 });
  // A Redis of its own: the reference writes markers of events no other suite knows.
  redis = await startRedisServer();
  watch = await watchApplied(redis.url);
  reference = await startReferencePipeline(admin, databaseUrl, redis.url, name);
});

afterAll(async () => {
  await reference?.stop();
  await admin?.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin?.end();
  await watch?.stop();
  await redis?.stop();
});

const placeOrder = async (): Promise<string> => {
  const response = await fetch(`${reference.url}/orders`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ id_client: 1, products: [{ id_product: 1, quantity: 1 }] }),
  });
  expect(response.status).toBe(200);
  const { eventId } = (await response.json()) as { eventId: string };
  return eventId;
};

describe("the bench's lag reference", () => {
  it("writes each order and its outbox row, and sets the event's applied marker in Redis", async () => {
    const eventIds = await Promise.all(Array.from({ length: 40 }, placeOrder));
    expect(new Set(eventIds).size).toBe(40);
    await expect(watch.waitFor(eventIds, 15_000)).resolves.toEqual([]);
    const orders = await reference.db.selectFrom("order").select(["event_id", "placed_at"]).execute();
    expect(orders.map((o) => o.event_id).sort()).toEqual([...eventIds].sort());
    const outbox = await reference.db.selectFrom("outbox").select("id").execute();
    expect(outbox.map((row) => row.id).sort()).toEqual([...eventIds].sort());
  });

  it("stops its process and drops its slot, however often it is stopped", async () => {
    const pid = reference.pid;
    await Promise.all([reference.stop(), reference.stop()]);
    expect(() => process.kill(pid, 0)).toThrow();
    const slots = await admin.query("SELECT slot_name FROM pg_replication_slots WHERE slot_name = $1", [name]);
    expect(slots.rows).toEqual([]);
  });
});

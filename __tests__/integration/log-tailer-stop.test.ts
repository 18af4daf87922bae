import { randomBytes, randomUUID } from "node:crypto";
import { sql } from "kysely";
import { ensureRuntimeSchema } from "../../local/dead-letter-store";
import { startLogTailer, type LogTailer } from "../../local/log-tailer";
import { migratedDatabase, type TestDatabase } from "../support/database";

/**
 * A stop while the tailer holds back (downstream saturated, the replication stream paused,
 * transactions left unread in the socket and the server) must still end the replication
 * connection, and not leave it to the stop's 3 s fallback: the slot is free for the next
 * runtime at once.
 */
let database: TestDatabase;
const slotName = `t_stop_${randomBytes(4).toString("hex")}`;

beforeAll(async () => {
  database = await migratedDatabase(2);
  await ensureRuntimeSchema(database.db);
});

afterAll(async () => {
  // Whatever the outcome, free the slot so the database can be dropped.
  await sql`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = ${slotName} AND active_pid IS NOT NULL`.execute(database.db);
  for (let i = 0; i < 50; i++) {
    const dropped = await sql`SELECT pg_drop_replication_slot(${slotName})`.execute(database.db).then(
      () => true,
      (error: { message?: string }) => /does not exist/.test(error.message ?? ""),
    );
    if (dropped) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await database.drop();
});

const insertOutboxRows = (n: number) =>
  sql`INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, event_version, payload, occurred_at)
      SELECT id, 'client', '1', 'OrderPlaced', 1, '{}'::jsonb, now() FROM unnest(${Array.from({ length: n }, () => randomUUID())}::uuid[]) AS id`.execute(database.db);

const until = async (what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe("the log tailer's stop", () => {
  it("closes the replication connection while the stream is paused for a saturated downstream", async () => {
    let transactions = 0;
    let saturated = false;
    const tailer: LogTailer = await startLogTailer({
      connectionString: database.url,
      slotName,
      publicationName: `${slotName}_pub`,
      // Tickets stay open, as a downstream that is behind holds them.
      onTransaction: () => void (transactions += 1),
      saturated: () => saturated,
    });
    await until("the tailer to stream", () => tailer.status().streaming);
    saturated = true;
    // The first commit pauses the stream; the others wait, unread, in the socket and the server.
    for (let i = 0; i < 20; i++) await insertOutboxRows(50);
    await until("a transaction to reach downstream", () => transactions > 0);
    expect(transactions).toBeLessThan(20);

    await tailer.stop();
    // The replication query only settles once its connection has ended.
    expect(tailer.status().streaming).toBe(false);
    const active = await sql<{ active: boolean }>`SELECT active FROM pg_replication_slots WHERE slot_name = ${slotName}`.execute(database.db);
    expect(active.rows).toEqual([{ active: false }]);
  }, 60_000);
});

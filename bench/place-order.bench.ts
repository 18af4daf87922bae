import { randomUUID } from "node:crypto";
import type { Pool } from "pg";
import { createDb, createPool, endPool } from "../adapters/postgres/pool";
import { migrateAndSeed } from "../handlers/migrate";
import { makePlaceOrderHandler, placeOrderDeps } from "../handlers/place-order";
import { startEmbeddedPostgres } from "../local/embedded-postgres";
import { measure, ratio } from "./measure";

const CONCURRENCY = 8;

/** Runs `once` CONCURRENCY at a time; one "operation" of the measure is one such wave. */
const wave = (once: () => Promise<unknown>) => () => Promise.all(Array.from({ length: CONCURRENCY }, once));

/** The same writes as the order store, as hand-written SQL: the floor the handler is held to. */
const rawTransaction = (pool: Pool) => async (): Promise<void> => {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT id, name, email FROM client WHERE id = $1", [1]);
    await client.query("SELECT id, name, price_cents FROM product WHERE id = ANY($1)", [[1, 2]]);
    const orderId = randomUUID();
    const eventId = randomUUID();
    await client.query(
      `INSERT INTO "order" (id, client_id, placed_at, total_cents, event_id) VALUES ($1, 1, now(), 300000, $2)`,
      [orderId, eventId],
    );
    await client.query(
      "INSERT INTO order_item (order_id, product_id, quantity, unit_price_cents) VALUES ($1, 1, 1, 150000), ($1, 2, 3, 50000)",
      [orderId],
    );
    await client.query(
      `INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, event_version, payload, occurred_at)
       VALUES ($1, 'client', '1', 'OrderPlaced', 1, $2, now())`,
      [eventId, JSON.stringify({ orderId, clientId: 1, totalCents: 300000 })],
    );
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK");
    throw error;
  } finally {
    client.release();
  }
};

/** POST /orders through the handler (parse, validate, price, one transaction) vs the raw SQL. */
export const placeOrderBench = async (): Promise<ReadonlyArray<string>> => {
  const postgres = await startEmbeddedPostgres();
  const pool = createPool({ connectionString: postgres.url, max: CONCURRENCY });
  const db = createDb(pool);
  try {
    await migrateAndSeed(db);
    const handler = makePlaceOrderHandler(async () => placeOrderDeps(db));
    const event = {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id_client: 1, products: [{ id_product: 1, quantity: 1 }, { id_product: 2, quantity: 3 }] }),
      isBase64Encoded: false,
    } as unknown as Parameters<typeof handler>[0];
    const placeViaHandler = async () => {
      const response = await handler(event);
      if (response.statusCode !== 200) throw new Error(`handler answered ${response.statusCode}: ${response.body}`);
    };
    const baseline = await measure(`raw pg transaction x${CONCURRENCY}`, wave(rawTransaction(pool)), 2_000);
    const subject = await measure(`place-order handler x${CONCURRENCY}`, wave(placeViaHandler), 2_000);
    return [ratio(subject, baseline)];
  } finally {
    // The pool's connections closed before the server stops (Kysely's destroy does not wait).
    await endPool(pool);
    await postgres.stop();
  }
};

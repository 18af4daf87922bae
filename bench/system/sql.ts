import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Pool, type PoolClient } from "pg";
import { type Percentiles, percentiles } from "./stats";

/**
 * The place-order transaction straight at PostgreSQL, without the API, the handler or Kysely:
 *   - baseline: what adapters/postgres/order-store.kysely.ts sends per order with an
 *     Idempotency-Key, one round trip each: BEGIN, the key's SELECT, the client's, the
 *     products', the write CTE (order + lines + outbox row), COMMIT;
 *   - limit: the same reads and writes as ONE prepared statement, one round trip, autocommit.
 * Run with N connections, each placing orders back to back for the given time.
 */

export interface Order {
  readonly clientId: number;
  readonly lines: ReadonlyArray<{ readonly productId: number; readonly quantity: number }>;
}

/** The seed's catalog (adapters/postgres/seed.ts), to price the baseline's orders as the domain would. */
const PRICES: Readonly<Record<number, number>> = { 1: 150_000, 2: 50_000, 3: 100_000 };
const CLIENTS: Readonly<Record<number, { name: string; email: string }>> = {
  1: { name: "Bob", email: "bob@anemailprovider.com" },
  2: { name: "Alice", email: "alice@anemailprovider.com" },
  3: { name: "John", email: "john@anemailprovider.com" },
};

/** Valid orders over the seed: each client, 1 to 3 distinct products. */
export const ORDERS: ReadonlyArray<Order> = [
  { clientId: 1, lines: [{ productId: 1, quantity: 1 }, { productId: 2, quantity: 3 }] },
  { clientId: 2, lines: [{ productId: 3, quantity: 2 }] },
  { clientId: 3, lines: [{ productId: 2, quantity: 1 }, { productId: 3, quantity: 1 }, { productId: 1, quantity: 4 }] },
  { clientId: 1, lines: [{ productId: 3, quantity: 5 }] },
  { clientId: 2, lines: [{ productId: 1, quantity: 2 }, { productId: 2, quantity: 2 }] },
  { clientId: 3, lines: [{ productId: 2, quantity: 1 }] },
];

/** The order store's write: one statement, data-modifying CTEs (see writeOrder there). */
const WRITE = `
WITH placed AS (
  INSERT INTO "order" (id, client_id, placed_at, total_cents, event_id, idempotency_key, request_fingerprint)
  VALUES ($1, $2, $3, $4, $5, $6, $7)
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING *
), lines AS (
  INSERT INTO order_item (order_id, product_id, quantity, unit_price_cents)
  SELECT placed.id, line.product_id, line.quantity, line.unit_price_cents
    FROM placed, unnest($8::int[], $9::int[], $10::bigint[]) AS line(product_id, quantity, unit_price_cents)
), announced AS (
  INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, event_version, payload, occurred_at)
  SELECT $5, 'client', $11, 'OrderPlaced', 1, $12::jsonb, $3 FROM placed
)
SELECT * FROM placed`;

/** Reads and writes at once: the key's order, the client, the prices, then the three inserts. */
const ONE_STATEMENT = `
WITH c AS (SELECT id, name, email FROM client WHERE id = $2),
lines AS (
  SELECT p.id AS product_id, l.quantity, p.price_cents AS unit_price_cents
    FROM unnest($6::int[], $7::int[]) AS l(product_id, quantity)
    JOIN product p ON p.id = l.product_id
), total AS (SELECT sum(quantity * unit_price_cents)::bigint AS cents, count(*) AS n FROM lines),
placed AS (
  INSERT INTO "order" (id, client_id, placed_at, total_cents, event_id, idempotency_key, request_fingerprint)
  SELECT $1, c.id, $3, total.cents, $4, $5, $8 FROM c, total
   WHERE total.n = cardinality($6::int[])
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING *
), items AS (
  INSERT INTO order_item (order_id, product_id, quantity, unit_price_cents)
  SELECT placed.id, lines.product_id, lines.quantity, lines.unit_price_cents FROM placed, lines
), announced AS (
  INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, event_version, payload, occurred_at)
  SELECT placed.event_id, 'client', placed.client_id::text, 'OrderPlaced', 1,
         jsonb_build_object(
           'orderId', placed.id, 'clientId', c.id, 'clientName', c.name, 'clientEmail', c.email,
           'totalCents', placed.total_cents, 'placedAt', floor(extract(epoch FROM placed.placed_at))::bigint,
           'items', (SELECT jsonb_agg(jsonb_build_object('productId', product_id, 'quantity', quantity, 'unitPriceCents', unit_price_cents)) FROM lines)),
         placed.placed_at
    FROM placed, c
)
SELECT placed.id FROM placed`;

const fingerprintOf = (order: Order) => JSON.stringify(order);

const baselineOnce = async (client: PoolClient, order: Order): Promise<void> => {
  const key = randomUUID();
  await client.query("BEGIN");
  try {
    await client.query(`SELECT * FROM "order" WHERE idempotency_key = $1`, [key]);
    const found = await client.query<{ id: number; name: string; email: string }>("SELECT id, name, email FROM client WHERE id = $1", [order.clientId]);
    const ids = order.lines.map((l) => l.productId);
    await client.query("SELECT id, name, price_cents FROM product WHERE id = ANY($1::int[])", [ids]);
    const client0 = found.rows[0] ?? { id: order.clientId, ...CLIENTS[order.clientId] };
    const occurredAt = new Date();
    const orderId = randomUUID();
    const eventId = randomUUID();
    const prices = order.lines.map((l) => PRICES[l.productId] as number);
    const total = order.lines.reduce((sum, l, i) => sum + l.quantity * (prices[i] as number), 0);
    const payload = {
      orderId,
      clientId: client0.id,
      clientName: client0.name,
      clientEmail: client0.email,
      totalCents: total,
      placedAt: Math.floor(occurredAt.getTime() / 1000),
      items: order.lines.map((l, i) => ({ productId: l.productId, quantity: l.quantity, unitPriceCents: prices[i] })),
    };
    const written = await client.query(WRITE, [
      orderId,
      order.clientId,
      occurredAt.toISOString(),
      total,
      eventId,
      key,
      fingerprintOf(order),
      ids,
      order.lines.map((l) => l.quantity),
      prices,
      String(order.clientId),
      JSON.stringify(payload),
    ]);
    if (written.rowCount !== 1) throw new Error("the baseline's write returned no row");
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
};

const limitOnce = async (client: PoolClient, order: Order): Promise<void> => {
  const written = await client.query({
    name: "bench-place-order-limit",
    text: ONE_STATEMENT,
    values: [
      randomUUID(),
      order.clientId,
      new Date().toISOString(),
      randomUUID(),
      randomUUID(),
      order.lines.map((l) => l.productId),
      order.lines.map((l) => l.quantity),
      fingerprintOf(order),
    ],
  });
  if (written.rowCount !== 1) throw new Error("the limit's statement returned no row");
};

export type SqlKind = "baseline" | "limit";

export interface SqlPoint {
  readonly kind: SqlKind;
  readonly connections: number;
  readonly orders: number;
  readonly ordersPerSecond: number;
  readonly latencyMs: Percentiles;
}

/** `connections` clients, each placing orders back to back for `ms` (after a short warm-up). */
export const runSql = async (url: string, kind: SqlKind, connections: number, ms: number): Promise<SqlPoint> => {
  const pool = new Pool({ connectionString: url, max: connections });
  pool.on("error", () => undefined);
  const once = kind === "baseline" ? baselineOnce : limitOnce;
  try {
    const clients = await Promise.all(Array.from({ length: connections }, () => pool.connect()));
    const latencies: number[] = [];
    let orders = 0;
    const warmUntil = performance.now() + Math.min(500, ms / 4);
    let measuring = false;
    let end = Number.POSITIVE_INFINITY;
    let start = 0;
    const worker = async (client: PoolClient, index: number) => {
      let i = index;
      for (;;) {
        const now = performance.now();
        if (!measuring && now >= warmUntil) {
          measuring = true;
          start = now;
          end = now + ms;
        }
        if (now >= end) return;
        const order = ORDERS[i++ % ORDERS.length] as Order;
        const began = performance.now();
        await once(client, order);
        if (measuring && began >= start) {
          latencies.push(performance.now() - began);
          orders += 1;
        }
      }
    };
    await Promise.all(clients.map(worker));
    const elapsed = performance.now() - start;
    for (const client of clients) client.release();
    return { kind, connections, orders, ordersPerSecond: (orders * 1000) / elapsed, latencyMs: percentiles(latencies) };
  } finally {
    await pool.end();
  }
};

/** Every order of the SQL phases has its lines and its outbox row, and its total is its lines' sum. */
export const sqlDifferences = async (url: string): Promise<ReadonlyArray<string>> => {
  const pool = new Pool({ connectionString: url, max: 1 });
  try {
    const { rows } = await pool.query<{ orders: string; outbox: string; unpriced: string; unannounced: string }>(`
      SELECT (SELECT count(*) FROM "order") AS orders,
             (SELECT count(*) FROM outbox) AS outbox,
             (SELECT count(*) FROM "order" o
               WHERE o.total_cents IS DISTINCT FROM (SELECT sum(quantity * unit_price_cents) FROM order_item i WHERE i.order_id = o.id)) AS unpriced,
             (SELECT count(*) FROM "order" o WHERE NOT EXISTS (
                SELECT 1 FROM outbox x WHERE x.id = o.event_id AND (x.payload->>'totalCents')::bigint = o.total_cents)) AS unannounced`);
    const row = rows[0];
    if (row === undefined) return ["no answer from the SQL check"];
    const out: string[] = [];
    if (row.orders !== row.outbox) out.push(`sql: ${row.orders} orders but ${row.outbox} outbox rows`);
    if (row.unpriced !== "0") out.push(`sql: ${row.unpriced} orders whose total is not the sum of their lines`);
    if (row.unannounced !== "0") out.push(`sql: ${row.unannounced} orders without their outbox row`);
    return out;
  } finally {
    await pool.end();
  }
};

import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { type OrderStoreFaults } from "../../adapters/postgres/order-store.kysely";
import { makePlaceOrderHandler, placeOrderDeps } from "../../handlers/place-order";
import { postOrder } from "../support/api-gateway";
import { migratedDatabase, type TestDatabase } from "../support/database";

let database: TestDatabase;

const handlerWith = (faults: OrderStoreFaults = {}) =>
  makePlaceOrderHandler(async () => placeOrderDeps(database.db, faults));

const body = (response: { body: string }) => JSON.parse(response.body) as Record<string, unknown>;

beforeAll(async () => {
  database = await migratedDatabase(20);
});

afterAll(async () => {
  await database.drop();
});

describe("POST /orders writes the order, its items and its outbox event in one transaction", () => {
  it("places the original sample's order: 1 Computer + 3 Phones = 3000.00 for Bob", async () => {
    const before = await database.counts();
    const response = await handlerWith()(postOrder({ id_client: 1, products: [{ id_product: 1, quantity: 1 }, { id_product: 2, quantity: 3 }] }));

    expect(response.statusCode).toBe(200);
    const result = body(response);
    expect(result).toEqual({
      statusCode: 200,
      body: "Order created successfully!",
      order_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      id_client: 1,
      total: 3000,
      placed_at: expect.any(Number),
    });
    const after = await database.counts();
    expect(after).toEqual({ ...before, order: before.order + 1, order_item: before.order_item + 2, outbox: before.outbox + 1 });

    const order = await database.db.selectFrom("order").selectAll().where("id", "=", result.order_id as string).executeTakeFirstOrThrow();
    expect(order.total_cents).toBe(300_000);
    expect(typeof order.total_cents).toBe("number");
    const items = await database.db.selectFrom("order_item").selectAll().where("order_id", "=", order.id).orderBy("product_id").execute();
    expect(items.map((i) => [i.product_id, i.quantity, i.unit_price_cents])).toEqual([[1, 1, 150_000], [2, 3, 50_000]]);

    const outbox = await database.db.selectFrom("outbox").selectAll().where(sql<string>`payload->>'orderId'`, "=", order.id).execute();
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toEqual(
      expect.objectContaining({ aggregate_type: "client", aggregate_id: "1", event_type: "OrderPlaced", event_version: 1 }),
    );
    expect(outbox[0]?.payload).toEqual({
      orderId: order.id,
      clientId: 1,
      clientName: "Bob",
      clientEmail: "bob@anemailprovider.com",
      totalCents: 300_000,
      placedAt: Math.floor(order.placed_at.getTime() / 1000),
      items: [
        { productId: 1, quantity: 1, unitPriceCents: 150_000 },
        { productId: 2, quantity: 3, unitPriceCents: 50_000 },
      ],
    });
  });

  it("accepts a base64-encoded body", async () => {
    const event = postOrder("");
    const response = await handlerWith()({
      ...event,
      isBase64Encoded: true,
      body: Buffer.from(JSON.stringify({ id_client: 2, products: [{ id_product: 3, quantity: 2 }] })).toString("base64"),
    });
    expect(response.statusCode).toBe(200);
    expect(body(response).total).toBe(2000);
  });

  it("writes nothing when the transaction fails after the order, its lines and its event were inserted", async () => {
    const before = await database.counts();
    const response = await handlerWith({
      beforeCommit: async () => {
        throw new Error("injected failure after the order insert");
      },
    })(postOrder({ id_client: 1, products: [{ id_product: 1, quantity: 1 }] }));

    expect(response.statusCode).toBe(500);
    const result = body(response);
    expect(result).toEqual({ statusCode: 500, body: "Internal error", code: "InternalError", requestId: expect.any(String) });
    expect(response.body).not.toContain("injected");
    expect(await database.counts()).toEqual(before);
  });

  it("keeps exactly one outbox row per order under 200 concurrent orders over 20 connections", async () => {
    const before = await database.counts();
    const handler = handlerWith();
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        handler(postOrder({ id_client: 3, products: [{ id_product: (i % 3) + 1, quantity: (i % 5) + 1 }] })),
      ),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array(200).fill(200));

    const after = await database.counts();
    expect(after.order - before.order).toBe(200);
    expect(after.outbox - before.outbox).toBe(200);

    const perOrder = await sql<{ orders: number; with_one_event: number; order_total: number; outbox_total: number }>`
      SELECT count(*) AS orders,
             count(*) FILTER (WHERE events = 1) AS with_one_event,
             sum(o.total_cents)::bigint AS order_total,
             sum(events_total)::bigint AS outbox_total
        FROM "order" o
        JOIN LATERAL (SELECT count(*) AS events, sum((payload->>'totalCents')::bigint)::bigint AS events_total
                        FROM outbox WHERE payload->>'orderId' = o.id::text) e ON true
       WHERE o.client_id = 3`.execute(database.db);
    const row = perOrder.rows[0];
    expect(row?.orders).toBe(200);
    expect(row?.with_one_event).toBe(200);
    expect(row?.outbox_total).toBe(row?.order_total);
    const expectedTotal = Array.from({ length: 200 }, (_, i) => [150_000, 50_000, 100_000][i % 3]! * ((i % 5) + 1)).reduce((a, b) => a + b, 0);
    expect(row?.order_total).toBe(expectedTotal);
  });
});

describe("Idempotency-Key", () => {
  const order = { id_client: 2, products: [{ id_product: 2, quantity: 1 }] };

  it("answers a retry with the first result and writes nothing new", async () => {
    const key = `retry-${randomUUID()}`;
    const before = await database.counts();
    const first = await handlerWith()(postOrder(order, { "Idempotency-Key": key }));
    const second = await handlerWith()(postOrder({ products: order.products, id_client: 2 }, { "idempotency-key": key }));

    expect(first.statusCode).toBe(200);
    expect(second.statusCode).toBe(200);
    expect(body(second)).toEqual(body(first));
    expect(second.headers?.["idempotent-replayed"]).toBe("true");
    const after = await database.counts();
    expect(after.order - before.order).toBe(1);
    expect(after.outbox - before.outbox).toBe(1);
  });

  it("places one order when the same key arrives ten times at once", async () => {
    const key = `race-${randomUUID()}`;
    const before = await database.counts();
    const responses = await Promise.all(Array.from({ length: 10 }, () => handlerWith()(postOrder(order, { "Idempotency-Key": key }))));
    expect(responses.map((r) => r.statusCode)).toEqual(Array(10).fill(200));
    expect(new Set(responses.map((r) => body(r).order_id)).size).toBe(1);
    const after = await database.counts();
    expect(after.order - before.order).toBe(1);
    expect(after.outbox - before.outbox).toBe(1);
  });

  it("refuses the same key with a different request: 422, nothing written", async () => {
    const key = `conflict-${randomUUID()}`;
    expect((await handlerWith()(postOrder(order, { "Idempotency-Key": key }))).statusCode).toBe(200);
    const before = await database.counts();
    const response = await handlerWith()(
      postOrder({ id_client: 2, products: [{ id_product: 2, quantity: 5 }] }, { "Idempotency-Key": key }),
    );
    expect(response.statusCode).toBe(422);
    expect(body(response)).toEqual(expect.objectContaining({ statusCode: 422, code: "DuplicateRequest", idempotencyKey: key }));
    expect(await database.counts()).toEqual(before);
  });
});

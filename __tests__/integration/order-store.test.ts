import * as E from "fp-ts/Either";
import * as O from "fp-ts/Option";
import { sql } from "kysely";
import { createOrderStore } from "../../adapters/postgres/order-store.kysely";
import { decideOrder } from "../../domain/place-order";
import type { OrderReads } from "../../domain/ports";
import type { Uuid } from "../../domain/outbox-event";
import { randomUUID } from "node:crypto";
import { migratedDatabase, type TestDatabase } from "../support/database";

let database: TestDatabase;

beforeAll(async () => {
  database = await migratedDatabase(1);
});

afterAll(async () => {
  await database.drop();
});

const ids = { uuid: () => randomUUID() as Uuid };
const clock = { now: () => new Date() };

describe("the order store (two round trips: one read, one write)", () => {
  it("reports every unknown product, in the order of the lines, and writes nothing", async () => {
    const before = await database.counts();
    const command = { clientId: 1, lines: [{ productId: 404, quantity: 1 }, { productId: 1, quantity: 1 }, { productId: 405, quantity: 2 }] } as const;
    const result = await createOrderStore(database.db).placeOrder(
      O.none,
      { clientId: 1, productIds: [404, 1, 405] },
      decideOrder(command, ids, clock),
    )();
    expect(result).toEqual(E.left({ code: "ProductNotFound", productIds: [404, 405] }));
    expect(await database.counts()).toEqual(before);
  });

  it("a decision that reads more than it announced gets the database's answer", async () => {
    const command = { clientId: 2, lines: [{ productId: 3, quantity: 2 }] } as const;
    const seen: Array<unknown> = [];
    const result = await createOrderStore(database.db).placeOrder(O.none, { clientId: 1, productIds: [1] }, (reads: OrderReads) => {
      const decide = decideOrder(command, ids, clock);
      return decide({
        clients: { findClient: (id) => { seen.push(["client", id]); return reads.clients.findClient(id); } },
        catalog: { findProducts: (productIds) => { seen.push(["products", productIds]); return reads.catalog.findProducts(productIds); } },
      });
    })();
    expect(seen).toEqual([["client", 2], ["products", [3]]]);
    expect(E.isRight(result) && result.right.totalCents).toBe(200_000);
  });

  it("runs its statements as named prepared statements, planned once per connection", async () => {
    const store = createOrderStore(database.db);
    for (const key of ["prepared-1", "prepared-2"]) {
      const command = { clientId: 1, lines: [{ productId: 1, quantity: 1 }] } as const;
      const placed = await store.placeOrder(O.some({ key, fingerprint: "f" }), { clientId: 1, productIds: [1] }, decideOrder(command, ids, clock))();
      expect(E.isRight(placed)).toBe(true);
    }
    // One connection in this pool: the one that ran the statements.
    const prepared = await sql<{ name: string }>`SELECT name FROM pg_prepared_statements ORDER BY name`.execute(database.db);
    expect(prepared.rows.map((r) => r.name)).toEqual(expect.arrayContaining(["place_order_read", "place_order_write"]));
  });
});

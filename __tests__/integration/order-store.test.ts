import * as E from "fp-ts/Either";
import * as O from "fp-ts/Option";
import { Kysely, PostgresDialect, sql } from "kysely";
import { createOrderStore } from "../../adapters/postgres/order-store.kysely";
import { decideOrder } from "../../domain/place-order";
import type { Database } from "../../adapters/postgres/schema";
import type { NewOrder, OrderReads } from "../../domain/ports";
import * as TE from "fp-ts/TaskEither";
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

  it("runs its statements as named prepared statements, parsed once per connection", async () => {
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

  it("plans each statement once per connection, and again once its plan is a second old, for the tables as they are then", async () => {
    // Its own database: "order" is empty when the first plan is made.
    const fresh = await migratedDatabase(1);
    try {
      const store = createOrderStore(fresh.db);
      let n = 0;
      const place = async () => {
        n += 1;
        const command = { clientId: 1, lines: [{ productId: 1, quantity: 1 }] } as const;
        const placed = await store.placeOrder(O.some({ key: `planned-${n}`, fingerprint: "f" }), { clientId: 1, productIds: [1] }, decideOrder(command, ids, clock))();
        expect(E.isRight(placed)).toBe(true);
      };
      /** The plan the connection holds for the read now; the pool's one connection ran it. */
      const scannedWhole = async (): Promise<ReadonlyArray<string>> => {
        const explained = await sql<{ "QUERY PLAN": unknown }>`
          EXPLAIN (FORMAT JSON) EXECUTE place_order_read('{1}'::int[], '{explained}'::text[], '{1}'::int[], '{1}'::int[])`.execute(fresh.db);
        const scanned: string[] = [];
        const walk = (node: { "Node Type"?: string; "Relation Name"?: string; Plans?: unknown[] }) => {
          if (node["Node Type"] === "Seq Scan" && node["Relation Name"] !== undefined) scanned.push(node["Relation Name"]);
          for (const child of node.Plans ?? []) walk(child as typeof node);
        };
        walk((explained.rows[0]?.["QUERY PLAN"] as Array<{ Plan: Parameters<typeof walk>[0] }>)[0]?.Plan ?? {});
        return scanned.sort();
      };
      for (let k = 0; k < 8; k++) await place();
      await sql`INSERT INTO "order" (id, client_id, placed_at, total_cents, event_id, idempotency_key, request_fingerprint)
        SELECT gen_random_uuid(), 1, now(), 100, gen_random_uuid(), 'bulk-' || g, 'f' FROM generate_series(1, 20000) g`.execute(fresh.db);
      // Planned while "order" was empty, it reads all of it for every order.
      expect(await scannedWhole()).toContain("order");
      await new Promise((done) => setTimeout(done, 1_100));
      await place();
      expect(await scannedWhole()).not.toContain("order");
      const plans = await sql<{ name: string; generic_plans: string; custom_plans: string }>`
        SELECT name, generic_plans, custom_plans FROM pg_prepared_statements
         WHERE name IN ('place_order_read', 'place_order_write') ORDER BY name`.execute(fresh.db);
      // Planned once each time (a generic plan), not on every run.
      expect(plans.rows.map((r) => [r.name, Number(r.custom_plans), Number(r.generic_plans) >= 1])).toEqual([
        ["place_order_read", 0, true],
        ["place_order_write", 0, true],
      ]);
    } finally {
      await fresh.drop();
    }
  });
});

describe("the order store under concurrency (group commit: orders placed together share their two statements)", () => {
  /** A handle of its own on the test pool (so batchers of its own), recording every statement. */
  const recordingDb = () => {
    const statements: Array<{ text: string; orders: number; failed: boolean }> = [];
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: database.pool }),
      log: (event) =>
        void statements.push({
          text: event.query.sql.trimStart(),
          // Every statement of the store takes one array element per order first.
          orders: (event.query.parameters[0] as ReadonlyArray<unknown> | undefined)?.length ?? 0,
          failed: event.level === "error",
        }),
    });
    const sizes = (prefix: string) => statements.filter((s) => s.text.startsWith(prefix));
    return { db, reads: () => sizes("SELECT c.id AS client_id"), writes: () => sizes("WITH asked AS") };
  };
  const commandOf = (n: number) => ({ clientId: 1 + (n % 3), lines: [{ productId: 1 + (n % 3), quantity: 1 + (n % 4) }] }) as const;
  const place = (store: ReturnType<typeof createOrderStore>, n: number, key?: string, fingerprint = "f") => {
    const command = commandOf(n);
    return store.placeOrder(
      key === undefined ? O.none : O.some({ key, fingerprint }),
      { clientId: command.clientId, productIds: command.lines.map((l) => l.productId) },
      decideOrder(command, ids, clock),
    )();
  };

  it("places 30 orders made at once in a few statements, each answered with its own order, event and lines", async () => {
    const before = await database.counts();
    const recording = recordingDb();
    const store = createOrderStore(recording.db);
    const results = await Promise.all(Array.from({ length: 30 }, (_, n) => place(store, n, n % 2 === 0 ? `together-${n}` : undefined)));
    const placed = results.map((r) => (E.isRight(r) ? r.right : undefined));
    expect(placed.every((p) => p !== undefined && !p.replayed)).toBe(true);
    // Each answer is its own order's: client and total as priced (seed prices 150 000, 50 000, 100 000).
    const prices = [150_000, 50_000, 100_000];
    placed.forEach((p, n) => expect(p && [p.clientId, p.totalCents]).toEqual([1 + (n % 3), (prices[n % 3] as number) * (1 + (n % 4))]));
    expect(new Set(placed.map((p) => p?.orderId)).size).toBe(30);
    const after = await database.counts();
    expect([after.order - before.order, after.outbox - before.outbox, after.order_item - before.order_item]).toEqual([30, 30, 30]);
    const announced = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM "order" o JOIN outbox x ON x.id = o.event_id
       WHERE o.id = ANY(${placed.map((p) => p?.orderId)}::uuid[]) AND (x.payload->>'orderId')::uuid = o.id
         AND (x.payload->>'totalCents')::bigint = o.total_cents`.execute(database.db);
    expect(announced.rows[0]?.n).toBe(30);
    expect(recording.reads().length).toBeLessThanOrEqual(3);
    expect(recording.writes().length).toBeLessThanOrEqual(3);
    expect(recording.writes().reduce((sum, w) => sum + w.orders, 0)).toBe(30);
  });

  it("writes the rest of a batch when one of its orders fails the write, and nothing for that one", async () => {
    const before = await database.counts();
    const recording = recordingDb();
    const store = createOrderStore(recording.db);
    // A decision for a client that does not exist: the foreign key refuses it at the write.
    const orphan = store.placeOrder(O.none, { clientId: 1, productIds: [1] }, (reads) =>
      TE.map((order: NewOrder): NewOrder => ({ ...order, clientId: 9_999 as NewOrder["clientId"] }))(decideOrder(commandOf(0), ids, clock)(reads)),
    )();
    const good = Array.from({ length: 5 }, (_, n) => place(store, n + 1));
    const [bad, ...fine] = await Promise.all([orphan, ...good]);
    expect(E.isLeft(bad as E.Either<unknown, unknown>) && (bad as E.Left<{ code: string }>).left.code).toBe("Unavailable");
    expect(fine.every(E.isRight)).toBe(true);
    const after = await database.counts();
    expect([after.order - before.order, after.outbox - before.outbox]).toEqual([5, 5]);
    // A batch holding it and others failed as a whole; then each of its orders was written alone.
    const writes = recording.writes();
    const failedBatch = writes.find((w) => w.failed && w.orders > 1);
    expect(failedBatch).toBeDefined();
    expect(writes.filter((w) => w.orders === 1)).toHaveLength(failedBatch?.orders ?? -1);
    expect(writes.filter((w) => w.failed)).toHaveLength(2);
  });

  it("lets one of three orders made at once under one key win: the same request replays it, another is refused", async () => {
    const before = await database.counts();
    const store = createOrderStore(recordingDb().db);
    const [a, b, c] = await Promise.all([place(store, 1, "same-key"), place(store, 1, "same-key"), place(store, 1, "same-key", "another request")]);
    const answers = [a, b, c].map((r) => r as E.Either<{ code: string }, { orderId: string; replayed: boolean }>);
    const rights = answers.filter(E.isRight).map((r) => r.right);
    expect(rights).toHaveLength(2);
    expect(rights[0]?.orderId).toBe(rights[1]?.orderId);
    expect(rights.map((r) => r.replayed).sort()).toEqual([false, true]);
    expect(answers.filter(E.isLeft).map((l) => l.left.code)).toEqual(["DuplicateRequest"]);
    const after = await database.counts();
    expect([after.order - before.order, after.outbox - before.outbox]).toEqual([1, 1]);
  });
});

import { randomUUID } from "node:crypto";
import fc from "fast-check";
import * as E from "fp-ts/Either";
import * as O from "fp-ts/Option";
import {
  APPLIED_MARKER_TTL_SECONDS,
  createClientViewStore,
  GENERATION_KEY,
  markerKey,
  viewKey,
} from "../../adapters/redis/client-view-store.redis";
import { apply } from "../../domain/client-view";
import { cents } from "../../domain/money";
import { type OrderPlaced, orderPlaced, type Uuid } from "../../domain/outbox-event";
import { freshRedis, type TestRedis } from "../support/redis";

let redis: TestRedis;
beforeEach(() => (redis = freshRedis()));
afterEach(async () => {
  await redis.flush();
  await redis.close();
});

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
const lcg = (seed: number) => () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);

const event = (clientId: number, occurredAt: Date, totalCents: number, name: string): OrderPlaced =>
  orderPlaced({
    eventId: randomUUID() as Uuid,
    orderId: randomUUID(),
    client: { id: clientId, name, email: `${name.toLowerCase()}@example.com` },
    occurredAt,
    totalCents: cents(totalCents),
    items: [],
  });

describe("Redis client view store", () => {
  // Views are applied to a read model that a rebuild has completed.
  beforeEach(async () => expect(await createClientViewStore(redis.connect()).completeRebuild("test-generation")()).toEqual(E.right(undefined)));

  it("builds exact views from 2,000 shuffled events with 30% duplicates over 8 connections", async () => {
    const random = lcg(42);
    const base = Date.UTC(2026, 0, 1);
    const events = Array.from({ length: 2_000 }, (_, i) =>
      event(
        (i % 50) + 1,
        new Date(base + Math.floor(random() * 30 * 86_400_000)),
        1 + Math.floor(random() * 500_000),
        `Client${i % 50}-v${Math.floor(random() * 1_000)}`,
      ),
    );
    const duplicates = events.filter(() => random() < 0.3);
    const deliveries = [...events, ...duplicates];
    for (let i = deliveries.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
    }

    const stores = Array.from({ length: 8 }, () => createClientViewStore(redis.connect()));
    const outcomes = await Promise.all(
      stores.map(async (store, lane) => {
        const mine = deliveries.filter((_, i) => i % 8 === lane);
        return Promise.all(mine.map(async (e) => E.getOrElseW(() => "failed" as const)(await store.apply(e)())));
      }),
    );
    const flat = outcomes.flat();
    expect(flat.filter((o) => o === "applied")).toHaveLength(events.length);
    expect(flat.filter((o) => o === "duplicate")).toHaveLength(duplicates.length);

    // Expected values straight from the events, not from the domain reducer.
    for (let clientId = 1; clientId <= 50; clientId++) {
      const mine = events.filter((e) => e.payload.clientId === clientId);
      const latest = [...mine].sort((a, b) =>
        a.occurredAt === b.occurredAt ? (a.eventId < b.eventId ? 1 : -1) : Date.parse(b.occurredAt) - Date.parse(a.occurredAt),
      )[0]!;
      const view = await stores[0]!.get(clientId)();
      expect(view).toEqual(
        E.right(
          O.some({
            clientId,
            name: latest.payload.clientName,
            email: latest.payload.clientEmail,
            totalCents: mine.reduce((sum, e) => sum + e.payload.totalCents, 0),
            orderCount: mine.length,
            lastPurchase: Math.max(...mine.map((e) => e.payload.placedAt)),
            profileVersion: { occurredAtMs: Date.parse(latest.occurredAt), eventId: latest.eventId },
          }),
        ),
      );
    }
  });

  it("marks applied events with a TTL longer than SQS retention, and says none for an unknown client", async () => {
    const connection = redis.connect();
    const store = createClientViewStore(connection);
    const e = event(7, new Date(), 1_000, "Zed");
    expect(await store.apply(e)()).toEqual(E.right("applied"));
    expect(await store.apply(e)()).toEqual(E.right("duplicate"));
    const ttl = await connection.ttl(markerKey(7, e.eventId));
    expect(ttl).toBeGreaterThan(14 * 24 * 3600 - 60);
    expect(ttl).toBeLessThanOrEqual(APPLIED_MARKER_TTL_SECONDS);
    expect(await store.get(8)()).toEqual(E.right(O.none));
  });

  it("leaves no marker when a script fails, so the redelivery applies the event in full", async () => {
    const connection = redis.connect();
    const store = createClientViewStore(connection);
    const e = event(9, new Date(), 2_500, "Ivy");
    await connection.hset(viewKey(9), "total_cents", "12.5", "order_count", "1");
    const failed = await store.apply(e)();
    expect(E.isLeft(failed) && failed.left.code).toBe("Unavailable");
    expect(await connection.exists(markerKey(9, e.eventId))).toBe(0);
    expect(await connection.hget(viewKey(9), "order_count")).toBe("1");

    await connection.del(viewKey(9));
    expect(await store.apply(e)()).toEqual(E.right("applied"));
    const view = await store.get(9)();
    expect(E.isRight(view) && O.isSome(view.right) && [view.right.value.totalCents, view.right.value.orderCount]).toEqual([2_500, 1]);
  });

  // The domain reducer is the reference: the script must build the view `apply` builds.
  it("agrees with the domain reducer, the reference, including ties within one millisecond", async () => {
    const connection = redis.connect();
    const store = createClientViewStore(connection);
    const base = Date.UTC(2026, 2, 1);
    let client = 1_000;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            ms: fc.constantFrom(base, base + 1, base + 999, base + 1_000, base + 86_400_000),
            cents: fc.integer({ min: 0, max: 10_000_000 }),
            name: fc.string({ minLength: 1, maxLength: 8 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        async (specs) => {
          client += 1;
          const events = specs.map((spec) => event(client, new Date(spec.ms), spec.cents, spec.name));
          for (const e of events) await store.apply(e)();
          const expected = events.reduce((view, e) => O.some(apply(view, e)), O.none as O.Option<ReturnType<typeof apply>>);
          expect(await store.get(client)()).toEqual(E.right(expected));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("Redis client view store without a generation", () => {
  it("refuses to apply an event, writing neither the view nor the marker", async () => {
    const connection = redis.connect();
    const store = createClientViewStore(connection);
    const e = event(11, new Date(), 4_000, "Una");
    expect(await store.apply(e)()).toEqual(E.left({ code: "ReadModelUnavailable" }));
    expect(await redis.keys()).toEqual([]);

    // The retry after a rebuild applies it in full.
    expect(await store.completeRebuild("g1")()).toEqual(E.right(undefined));
    expect(await store.apply(e)()).toEqual(E.right("applied"));
    const view = await store.get(11)();
    expect(E.isRight(view) && O.isSome(view.right) && [view.right.value.totalCents, view.right.value.orderCount]).toEqual([4_000, 1]);
  });

  it("refuses even an event it applied before: the generation is checked first", async () => {
    const connection = redis.connect();
    const store = createClientViewStore(connection);
    const e = event(12, new Date(), 1_000, "Vic");
    await store.completeRebuild("g1")();
    expect(await store.apply(e)()).toEqual(E.right("applied"));
    expect(await store.beginRebuild()()).toEqual(E.right(undefined));
    expect(await store.apply(e)()).toEqual(E.left({ code: "ReadModelUnavailable" }));
    expect(await connection.hget(viewKey(12), "order_count")).toBe("1");
  });

  it("answers ReadModelUnavailable to a read, even of a view that is there", async () => {
    const connection = redis.connect();
    const store = createClientViewStore(connection);
    expect(await store.get(13)()).toEqual(E.left({ code: "ReadModelUnavailable" }));
    await connection.hset(viewKey(13), "total_cents", "100", "order_count", "1");
    expect(await store.get(13)()).toEqual(E.left({ code: "ReadModelUnavailable" }));
    await store.completeRebuild("g1")();
    expect(await store.get(13)()).toEqual(E.right(O.some(expect.objectContaining({ clientId: 13, totalCents: 100, orderCount: 1 }))));
  });

  it("reads, clears and sets the generation, which never expires", async () => {
    const connection = redis.connect();
    const store = createClientViewStore(connection);
    expect(await store.generation()()).toEqual(E.right(O.none));
    expect(await store.completeRebuild("2026-01-01T00:00:00.000Z/abc")()).toEqual(E.right(undefined));
    expect(await store.generation()()).toEqual(E.right(O.some("2026-01-01T00:00:00.000Z/abc")));
    expect(await connection.ttl(GENERATION_KEY)).toBe(-1);
    expect(await store.beginRebuild()()).toEqual(E.right(undefined));
    expect(await store.generation()()).toEqual(E.right(O.none));
    expect(await connection.exists(GENERATION_KEY)).toBe(0);
  });

  it("keeps other failures Unavailable", async () => {
    const connection = redis.connect();
    const store = createClientViewStore(connection);
    await store.completeRebuild("g1")();
    await connection.hset(viewKey(14), "total_cents", "x");
    const failed = await store.apply(event(14, new Date(), 1, "Wes"))();
    expect(E.isLeft(failed) && failed.left.code).toBe("Unavailable");
    connection.disconnect();
    const closed = await store.get(14)();
    expect(E.isLeft(closed) && closed.left.code).toBe("Unavailable");
  });
});

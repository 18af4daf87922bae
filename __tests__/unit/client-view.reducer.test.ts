import fc from "fast-check";
import * as E from "fp-ts/Either";
import * as O from "fp-ts/Option";
import { type ClientView, ClientViewResponse, apply, viewToResponse } from "../../domain/client-view";
import { cents } from "../../domain/money";
import { MAX_ID } from "../../domain/order";
import { IsoInstant, type Uuid, OrderPlaced, orderPlaced } from "../../domain/outbox-event";

/*
 * The domain reducer is the reference for the read model: the Lua apply script
 * (__tests__/integration/client-view-store.test.ts) and the rebuild's SQL aggregate
 * (__tests__/integration/client-history.test.ts) are checked against it, and it is checked
 * here against oracles written independently of it.
 */

// ---- generators ----

/** 2000-01-01 .. 2100-01-01, in epoch milliseconds. */
const MIN_MS = Date.UTC(2000, 0, 1);
const MAX_MS = Date.UTC(2100, 0, 1);
/** A few instants that many events share, so equal milliseconds (and seconds) are common. */
const T0 = Date.UTC(2024, 1, 9, 13, 20, 20, 0);
const CROWDED_MS = [T0, T0 + 1, T0 + 999, T0 + 1000, T0 + 60_000];

/** Largest total of one order the domain's bounds allow: 10^9 cents x 1000 units x 100 lines. */
const MAX_ORDER_CENTS = 100_000_000_000_000;

/** What the test knows about an event, independently of how the domain parses it. */
interface Generated {
  readonly event: OrderPlaced;
  readonly ms: number;
  /** The event id as the total order compares it. */
  readonly id: string;
}

const pad = (n: number): string => String(n).padStart(2, "0");

/** The instant `ms` written at a UTC offset of `offsetMinutes`, e.g. `2024-02-09T18:50:20.000+05:30`. */
const isoAtOffset = (ms: number, offsetMinutes: number, zulu: boolean): IsoInstant => {
  if (offsetMinutes === 0 && zulu) return new Date(ms).toISOString() as IsoInstant;
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 23);
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}` as IsoInstant;
};

const occurredAtMs = fc.oneof(fc.constantFrom(...CROWDED_MS), fc.integer({ min: MIN_MS, max: MAX_MS }));

const item = fc.record({
  productId: fc.integer({ min: 1, max: MAX_ID }),
  quantity: fc.integer({ min: 1, max: 1000 }),
  unitPriceCents: fc.integer({ min: 0, max: 1_000_000_000 }).map(cents),
});

/** A valid `OrderPlaced` for `clientId`; the name, email and offset of occurredAt vary per event. */
const orderPlacedFor = (
  clientId: number,
  { ms = occurredAtMs, maxTotalCents = MAX_ORDER_CENTS }: { ms?: fc.Arbitrary<number>; maxTotalCents?: number } = {},
): fc.Arbitrary<Generated> =>
  fc
    .record({
      eventId: fc.uuid(),
      orderId: fc.uuid(),
      ms,
      // Whole quarter hours from -12:00 to +14:00: the same instant written differently.
      offsetMinutes: fc.integer({ min: -48, max: 56 }).map((q) => q * 15),
      zulu: fc.boolean(),
      name: fc.string({ maxLength: 20 }),
      email: fc.emailAddress(),
      totalCents: fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: maxTotalCents })),
      items: fc.array(item, { minLength: 1, maxLength: 3 }),
    })
    .map((g): Generated => {
      const built = orderPlaced({
        eventId: g.eventId as Uuid,
        orderId: g.orderId,
        client: { id: clientId, name: g.name, email: g.email },
        occurredAt: new Date(g.ms),
        totalCents: cents(g.totalCents),
        items: g.items,
      });
      const event = { ...built, occurredAt: isoAtOffset(g.ms, g.offsetMinutes, g.zulu) };
      // The generator must only produce what the wire contract accepts.
      const decoded = OrderPlaced.decode(event);
      if (E.isLeft(decoded)) throw new Error(`generated an invalid OrderPlaced: ${JSON.stringify(event)}`);
      return { event: decoded.right, ms: g.ms, id: g.eventId.toLowerCase() };
    });

const clientId = fc.integer({ min: 1, max: MAX_ID });

/** One client's events, with distinct event ids. */
const distinctEvents = (options: { minLength?: number; maxLength?: number; maxTotalCents?: number } = {}) =>
  clientId.chain((id) =>
    fc.uniqueArray(orderPlacedFor(id, options.maxTotalCents === undefined ? {} : { maxTotalCents: options.maxTotalCents }), {
      selector: (g) => g.id,
      minLength: options.minLength ?? 1,
      maxLength: options.maxLength ?? 30,
    }),
  );

/** The same events in another order. */
const withPermutation = <A>(items: ReadonlyArray<A>): fc.Arbitrary<ReadonlyArray<A>> =>
  fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length });

// ---- exactly-once, as the test's model of the marker keys ----

/**
 * A view together with the ids of the events already in it: what the Redis adapter keeps as
 * a hash and its applied-event markers. Production never folds in memory, so this lives here.
 */
interface Projection {
  readonly view: O.Option<ClientView>;
  readonly applied: ReadonlySet<string>;
}

const emptyProjection: Projection = { view: O.none, applied: new Set() };

/** Applies an event exactly once: a second delivery of the same event id changes nothing. */
const applyOnce = (projection: Projection, event: OrderPlaced): Projection => {
  const id = event.eventId.toLowerCase();
  if (projection.applied.has(id)) return projection;
  return { view: O.some(apply(projection.view, event)), applied: new Set([...projection.applied, id]) };
};

// ---- folds ----

const fold = (events: ReadonlyArray<OrderPlaced>): O.Option<ClientView> =>
  events.reduce<O.Option<ClientView>>((view, event) => O.some(apply(view, event)), O.none);

const foldOnce = (events: ReadonlyArray<OrderPlaced>, from: Projection = emptyProjection): Projection =>
  events.reduce(applyOnce, from);

const viewOf = (view: O.Option<ClientView>): ClientView => {
  if (O.isNone(view)) throw new Error("expected a view");
  return view.value;
};

// ---- independent oracles ----

/** The event whose profile should win: greatest epoch ms, then greatest lower-case event id. */
const expectedWinner = (generated: ReadonlyArray<Generated>): Generated =>
  generated.reduce((best, g) => (g.ms > best.ms || (g.ms === best.ms && g.id > best.id) ? g : best));

const exactSum = (generated: ReadonlyArray<Generated>): bigint =>
  generated.reduce((sum, g) => sum + BigInt(g.event.payload.totalCents), 0n);

/** `n` cents as the shortest decimal of currency units: 450000 -> "4500", 1999 -> "19.99", 5 -> "0.05". */
const unitsText = (n: bigint): string => {
  const fraction = (n % 100n).toString().padStart(2, "0").replace(/0+$/, "");
  return fraction === "" ? `${n / 100n}` : `${n / 100n}.${fraction}`;
};

// ---- properties ----

describe("the domain reducer, the reference of the read model (properties)", () => {
  it("gives the same view whatever the delivery order", () => {
    fc.assert(
      fc.property(
        distinctEvents().chain((events) => fc.tuple(fc.constant(events), withPermutation(events))),
        ([events, shuffled]) => {
          expect(fold(shuffled.map((g) => g.event))).toEqual(fold(events.map((g) => g.event)));
        },
      ),
    );
  });

  it("gives the same view whatever the order, even when every event shares one millisecond", () => {
    fc.assert(
      fc.property(
        clientId.chain((id) =>
          fc.uniqueArray(orderPlacedFor(id, { ms: fc.constant(T0) }), { selector: (g) => g.id, minLength: 2, maxLength: 10 }),
        ).chain((events) => fc.tuple(fc.constant(events), withPermutation(events))),
        ([events, shuffled]) => {
          const view = viewOf(fold(shuffled.map((g) => g.event)));
          expect(view).toEqual(viewOf(fold(events.map((g) => g.event))));
          const winner = expectedWinner(events);
          expect(view.name).toBe(winner.event.payload.clientName);
          expect(view.email).toBe(winner.event.payload.clientEmail);
          expect(view.profileVersion).toEqual({ occurredAtMs: T0, eventId: winner.id });
        },
      ),
    );
  });

  it("absorbs redeliveries: any duplicates, in any order, give the view of each event once", () => {
    const deliveries = distinctEvents().chain((events) =>
      fc
        .tuple(
          ...events.map((g) =>
            // 1..4 copies of each event; a redelivered copy may spell its id in upper case.
            fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }).map((upper) =>
              upper.map((u) => (u ? { ...g.event, eventId: g.event.eventId.toUpperCase() as Uuid } : g.event)),
            ),
          ),
        )
        .chain((copies) => withPermutation(copies.flat()))
        .map((sequence) => ({ events, sequence })),
    );
    fc.assert(
      fc.property(deliveries, ({ events, sequence }) => {
        const once = foldOnce(events.map((g) => g.event));
        const redelivered = foldOnce(sequence);
        expect(redelivered.view).toEqual(once.view);
        expect(redelivered.view).toEqual(fold(events.map((g) => g.event)));
        expect(viewOf(redelivered.view).orderCount).toBe(events.length);
        expect([...redelivered.applied].sort()).toEqual(events.map((g) => g.id).sort());
      }),
    );
  });

  it("changes nothing when an event is applied twice in a row", () => {
    fc.assert(
      fc.property(
        distinctEvents({ minLength: 0, maxLength: 10 }).chain((events) =>
          fc.tuple(
            fc.constant(events),
            // The repeated event is either new to the projection or already in it.
            events.length === 0 ? fc.constant(0) : fc.nat({ max: events.length }),
            orderPlacedFor(events[0]?.event.payload.clientId ?? 1),
          ),
        ),
        ([events, pick, fresh]) => {
          const event = (events[pick] ?? fresh).event;
          const before = foldOnce(events.map((g) => g.event));
          const once = applyOnce(before, event);
          const twice = applyOnce(once, event);
          expect(twice).toBe(once);
          expect(twice.view).toEqual(once.view);
          expect(twice.applied).toEqual(once.applied);
        },
      ),
    );
  });

  it("keeps the max placedAt, the exact sum of totals, the count and the newest profile", () => {
    fc.assert(
      fc.property(distinctEvents().chain(withPermutation), (events) => {
        const view = viewOf(foldOnce(events.map((g) => g.event)).view);
        const first = events[0] as Generated;

        expect(view.clientId).toBe(first.event.payload.clientId);
        expect(view.lastPurchase).toBe(Math.max(...events.map((g) => Math.floor(g.ms / 1000))));
        expect(Number.isSafeInteger(view.totalCents)).toBe(true);
        expect(BigInt(view.totalCents)).toBe(exactSum(events));
        expect(view.orderCount).toBe(events.length);

        const winner = expectedWinner(events);
        expect(view.name).toBe(winner.event.payload.clientName);
        expect(view.email).toBe(winner.event.payload.clientEmail);
        expect(view.profileVersion).toEqual({ occurredAtMs: winner.ms, eventId: winner.id });
      }),
    );
  });

  it("answers with exactly name, email, total and last_purchase, the total in currency units", () => {
    // At most 9 orders of at most 10^14 cents keep the sum below 10^15, where every amount
    // of cents has an exact shortest decimal rendering of its value in units.
    fc.assert(
      fc.property(distinctEvents({ maxLength: 9 }).chain(withPermutation), (events) => {
        const view = viewOf(fold(events.map((g) => g.event)));
        const response = viewToResponse(view);

        expect(Object.keys(response).sort()).toEqual(["email", "last_purchase", "name", "total"]);
        expect(ClientViewResponse.decode(response)).toEqual(E.right(response));
        expect(ClientViewResponse.is(response)).toBe(true);

        expect(response.name).toBe(view.name);
        expect(response.email).toBe(view.email);
        expect(response.last_purchase).toBe(view.lastPurchase);
        expect(response.total).toBe(view.totalCents / 100);
        expect(JSON.stringify(response.total)).toBe(unitsText(exactSum(events)));
      }),
    );
  });
});

// ---- examples ----

const client = { id: 1, name: "Alice", email: "alice@example.com" };
const item1 = { productId: 1, quantity: 1, unitPriceCents: cents(300_000) };

const event = (eventId: string, occurredAt: string, totalCents: number, who = client): OrderPlaced =>
  orderPlaced({
    eventId: eventId as Uuid,
    orderId: `order-${eventId.slice(0, 8)}`,
    client: who,
    occurredAt: new Date(occurredAt),
    totalCents: cents(totalCents),
    items: [item1],
  });

const A = "00000000-0000-4000-8000-00000000000a";
const B = "00000000-0000-4000-8000-00000000000b";

describe("the domain reducer, the reference of the read model (examples)", () => {
  it("sums the seed's two orders: 300000 + 150000 cents is a total of 4500", () => {
    const first = event(A, "2024-02-09T13:20:20.000Z", 300_000);
    const second = event(B, "2024-02-09T13:25:00.000Z", 150_000);
    const view = viewOf(fold([first, second]));
    expect(view).toEqual({
      clientId: 1,
      name: "Alice",
      email: "alice@example.com",
      totalCents: 450_000,
      lastPurchase: Date.UTC(2024, 1, 9, 13, 25, 0) / 1000,
      orderCount: 2,
      profileVersion: { occurredAtMs: Date.UTC(2024, 1, 9, 13, 25, 0), eventId: B },
    });
    expect(viewToResponse(view)).toEqual({
      name: "Alice",
      email: "alice@example.com",
      total: 4500,
      last_purchase: 1707485100,
    });
    expect(JSON.stringify(viewToResponse(view))).toBe(
      '{"name":"Alice","email":"alice@example.com","total":4500,"last_purchase":1707485100}',
    );
  });

  it("shows cents as decimals: 1999 cents is 19.99", () => {
    const view = viewOf(fold([event(A, "2024-02-09T13:20:20.000Z", 1999)]));
    expect(viewToResponse(view).total).toBe(19.99);
    expect(JSON.stringify(viewToResponse(view).total)).toBe("19.99");
  });

  it("takes name and email from the later event, whichever arrives first", () => {
    const early = event(A, "2024-02-09T13:20:20.000Z", 100, client);
    const late = event(B, "2024-02-09T13:20:21.000Z", 100, { ...client, name: "Alice B.", email: "ab@example.com" });
    for (const order of [[early, late], [late, early]]) {
      const view = viewOf(fold(order));
      expect([view.name, view.email]).toEqual(["Alice B.", "ab@example.com"]);
    }
  });

  it("breaks a tie of the same millisecond by the greater event id, not by arrival", () => {
    const low = event(A, "2024-02-09T13:20:20.123Z", 100, { ...client, name: "from a" });
    const high = event(B, "2024-02-09T13:20:20.123Z", 100, { ...client, name: "from b" });
    expect(viewOf(fold([low, high])).name).toBe("from b");
    expect(viewOf(fold([high, low])).name).toBe("from b");
  });

  it("orders instants written at different offsets by the instant, not the text", () => {
    // 14:00+02:00 is 12:00Z, earlier than 13:00Z although its text sorts later.
    const atOffset = { ...event(A, "2024-02-09T12:00:00.000Z", 100, { ...client, name: "noon" }), occurredAt: "2024-02-09T14:00:00.000+02:00" as IsoInstant };
    const utc = event(B, "2024-02-09T13:00:00.000Z", 100, { ...client, name: "one pm" });
    expect(OrderPlaced.is(atOffset)).toBe(true);
    expect(viewOf(fold([atOffset, utc])).name).toBe("one pm");
    expect(viewOf(fold([utc, atOffset])).name).toBe("one pm");
  });

  it("is not idempotent by itself: apply counts a redelivery, applyOnce does not", () => {
    const only = event(A, "2024-02-09T13:20:20.000Z", 300_000);
    const counted = viewOf(fold([only, only]));
    expect([counted.orderCount, counted.totalCents]).toEqual([2, 600_000]);

    const projection = foldOnce([only, only, { ...only, eventId: A.toUpperCase() as Uuid }]);
    expect(viewOf(projection.view)).toMatchObject({ orderCount: 1, totalCents: 300_000 });
    expect([...projection.applied]).toEqual([A]);
  });

  it("starts from nothing: one event is the whole view", () => {
    const only = event(A, "2024-02-09T13:20:20.999Z", 42);
    expect(apply(O.none, only)).toEqual({
      clientId: 1,
      name: "Alice",
      email: "alice@example.com",
      totalCents: 42,
      lastPurchase: 1707484820,
      orderCount: 1,
      profileVersion: { occurredAtMs: Date.UTC(2024, 1, 9, 13, 20, 20, 999), eventId: A },
    });
    expect(emptyProjection.view).toEqual(O.none);
  });
});

describe("IsoInstant", () => {
  it.each(["2024-02-30T00:00:00Z", "2023-02-29T12:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T10:60:00Z", "2024-01-01T10:00:00+25:00"])(
    "refuses %s, which is no real instant",
    (text) => {
      expect(IsoInstant.is(text)).toBe(false);
    },
  );

  it.each(["2024-02-29T23:59:59.999Z", "0099-03-01T00:00:00Z", "2024-01-01T10:00:00+05:30"])("accepts %s", (text) => {
    expect(IsoInstant.is(text)).toBe(true);
  });
});

import * as E from "fp-ts/Either";
import * as O from "fp-ts/Option";
import * as TE from "fp-ts/TaskEither";
import { pipe } from "fp-ts/function";
import { cents } from "../../domain/money";
import type { Client, Product } from "../../domain/order";
import { OutboxEvent, Uuid } from "../../domain/outbox-event";
import { fingerprint, placeOrder } from "../../domain/place-order";
import type { Clock, IdGenerator, IdempotencyClaim, NewOrder, OrderReads, OrderReadsWanted, OrderStore } from "../../domain/ports";
import { decodePlaceOrderBody } from "../../handlers/place-order";

// ---- the seed data ----

const bob: Client = { id: 1, name: "Bob", email: "bob@anemailprovider.com" };
const seedProducts: ReadonlyArray<Product> = [
  { id: 1, name: "Computer", priceCents: cents(150_000) },
  { id: 2, name: "Phone", priceCents: cents(50_000) },
  { id: 3, name: "TV", priceCents: cents(100_000) },
];
const seedBody = { id_client: 1, products: [{ id_product: 1, quantity: 1 }, { id_product: 2, quantity: 3 }] };

/** 750 ms past the second, so rounding instead of flooring would show in placedAt. */
const NOW_ISO = "2024-02-09T13:20:20.750Z";
/** `date -u -d 2024-02-09T13:20:20Z +%s` */
const NOW_EPOCH_SECONDS = 1_707_484_820;

// ---- in-memory fakes of the ports ----

const fixedClock = (iso: string): Clock => ({ now: () => new Date(iso) });

const uuid = (text: string): Uuid => {
  if (!Uuid.is(text)) throw new Error(`not a uuid: ${text}`);
  return text;
};

/** Hands out 00000000-0000-4000-8000-000000000001, ...02, ... and remembers them. */
const sequentialIds = (): IdGenerator & { readonly issued: Array<Uuid> } => {
  const issued: Array<Uuid> = [];
  return {
    issued,
    uuid: () => {
      const next = uuid(`00000000-0000-4000-8000-${String(issued.length + 1).padStart(12, "0")}`);
      issued.push(next);
      return next;
    },
  };
};

/**
 * A store that behaves like the transaction: it records the idempotency claim, runs
 * `decide` with reads over in-memory tables, and keeps the order only when `decide` succeeds.
 */
const inMemoryStore = (clients: ReadonlyArray<Client>, catalog: ReadonlyArray<Product>) => {
  const written: Array<NewOrder> = [];
  const claims: Array<O.Option<IdempotencyClaim>> = [];
  const wanted: Array<OrderReadsWanted> = [];
  const reads: OrderReads = {
    clients: { findClient: (id) => TE.right(O.fromNullable(clients.find((client) => client.id === id))) },
    catalog: { findProducts: (ids) => TE.right(catalog.filter((product) => ids.includes(product.id))) },
  };
  const orders: OrderStore = {
    placeOrder: (idempotency, reads_, decide) => {
      claims.push(idempotency);
      wanted.push(reads_);
      return pipe(
        decide(reads),
        TE.map((order) => {
          written.push(order);
          return { orderId: order.id, clientId: order.clientId, totalCents: order.totalCents, placedAt: order.placedAt, replayed: false };
        }),
      );
    },
  };
  return { orders, written, claims, wanted };
};

/** What POST /orders does with a body: the handler's request codec, then the use case with the typed command. */
const decodeThenPlace =
  (deps: Parameters<typeof placeOrder>[0]) =>
  (body: unknown, idempotencyKey: O.Option<string> = O.none) =>
    pipe(
      TE.fromEither(decodePlaceOrderBody(body)),
      TE.chain((command) => placeOrder(deps)({ command, idempotencyKey })),
    )();

const setup = () => {
  const store = inMemoryStore([bob], seedProducts);
  const ids = sequentialIds();
  const run = decodeThenPlace({ orders: store.orders, clock: fixedClock(NOW_ISO), ids });
  return { ...store, ids, run };
};

describe("placeOrder", () => {
  test("the seed order produces a NewOrder with exactly the OrderPlaced v1 event", async () => {
    const { run, written, ids } = setup();

    const result = await run(seedBody);

    expect(written).toHaveLength(1);
    const order = written[0] as NewOrder;
    // Order id and event id both come from the IdGenerator port, and they differ.
    expect(ids.issued).toHaveLength(2);
    expect([order.id, order.event.eventId].sort()).toEqual([...ids.issued].sort());
    const orderId = order.id;
    const eventId = order.event.eventId;

    expect(order).toEqual({
      id: orderId,
      clientId: 1,
      placedAt: NOW_EPOCH_SECONDS,
      totalCents: 300_000,
      lines: [
        { productId: 1, quantity: 1, unitPriceCents: 150_000, lineTotalCents: 150_000 },
        { productId: 2, quantity: 3, unitPriceCents: 50_000, lineTotalCents: 150_000 },
      ],
      event: {
        eventId,
        eventType: "OrderPlaced",
        eventVersion: 1,
        aggregateType: "client",
        aggregateId: "1",
        occurredAt: NOW_ISO,
        payload: {
          orderId,
          clientId: 1,
          clientName: "Bob",
          clientEmail: "bob@anemailprovider.com",
          totalCents: 300_000,
          placedAt: NOW_EPOCH_SECONDS,
          items: [
            { productId: 1, quantity: 1, unitPriceCents: 150_000 },
            { productId: 2, quantity: 3, unitPriceCents: 50_000 },
          ],
        },
      },
    });
    expect(result).toEqual(
      E.right({ orderId, clientId: 1, totalCents: 300_000, placedAt: NOW_EPOCH_SECONDS, replayed: false }),
    );
  });

  test("the event passes the OutboxEvent codec, also after a JSON round trip", async () => {
    const { run, written } = setup();
    await run(seedBody);
    const event = (written[0] as NewOrder).event;

    expect(OutboxEvent.is(event)).toBe(true);
    expect(OutboxEvent.decode(JSON.parse(JSON.stringify(event)))).toEqual(E.right(event));
  });

  test("an unknown client is ClientNotFound and nothing is written", async () => {
    const { run, written } = setup();
    const result = await run({ ...seedBody, id_client: 99 });
    expect(result).toEqual(E.left({ code: "ClientNotFound", clientId: 99 }));
    expect(written).toEqual([]);
  });

  test("unknown products are one ProductNotFound and nothing is written", async () => {
    const { run, written } = setup();
    const result = await run({ id_client: 1, products: [{ id_product: 9, quantity: 1 }, { id_product: 3, quantity: 1 }, { id_product: 8, quantity: 1 }] });
    expect(result).toEqual(E.left({ code: "ProductNotFound", productIds: [9, 8] }));
    expect(written).toEqual([]);
  });

  test("an invalid body is ValidationFailed and the store is never called", async () => {
    const placeOrderSpy = jest.fn<ReturnType<OrderStore["placeOrder"]>, Parameters<OrderStore["placeOrder"]>>(() =>
      TE.left({ code: "Unavailable", operation: "must not be called", cause: null }),
    );
    const ids = sequentialIds();
    const result = await decodeThenPlace({ orders: { placeOrder: placeOrderSpy }, clock: fixedClock(NOW_ISO), ids })(
      { id_client: 0, products: [] },
      O.some("key-1"),
    );

    expect(result).toEqual(
      E.left({
        code: "ValidationFailed",
        issues: [
          { path: "id_client", code: "out_of_range", message: expect.any(String) },
          { path: "products", code: "empty", message: expect.any(String) },
        ],
      }),
    );
    expect(placeOrderSpy).not.toHaveBeenCalled();
    expect(ids.issued).toEqual([]);
  });

  test("without an idempotency key the store gets no claim", async () => {
    const { run, claims } = setup();
    await run(seedBody, O.none);
    expect(claims).toEqual([O.none]);
  });

  test("with an idempotency key the store gets the key and the command's fingerprint", async () => {
    const { run, claims } = setup();
    await run(seedBody, O.some("key-1"));
    expect(claims).toEqual([O.some({ key: "key-1", fingerprint: expect.any(String) })]);
  });

  test("the store is told beforehand what the decision reads: the client and the lines' products", async () => {
    const { run, wanted } = setup();
    await run({ id_client: 1, products: [{ id_product: 3, quantity: 1 }, { id_product: 1, quantity: 2 }] });
    expect(wanted).toEqual([{ clientId: 1, productIds: [3, 1] }]);
  });
});

describe("idempotency fingerprint", () => {
  const fingerprintOf = async (json: string): Promise<string> => {
    const { run, claims } = setup();
    await run(JSON.parse(json), O.some("same-key"));
    const claim = claims[0];
    if (claim === undefined || O.isNone(claim)) throw new Error("the store got no idempotency claim");
    return claim.value.fingerprint;
  };

  const canonical = '{"id_client":1,"products":[{"id_product":1,"quantity":1},{"id_product":2,"quantity":3}]}';

  test("is the same for the same command with keys in another order and other whitespace", async () => {
    const reordered = `{
      "products": [ { "quantity": 1, "id_product": 1 }, { "quantity": 3, "id_product": 2 } ],
      "id_client": 1
    }`;
    expect(await fingerprintOf(reordered)).toBe(await fingerprintOf(canonical));
  });

  test.each<readonly [change: string, json: string]>([
    ["a quantity differs", '{"id_client":1,"products":[{"id_product":1,"quantity":1},{"id_product":2,"quantity":4}]}'],
    ["the client differs", '{"id_client":2,"products":[{"id_product":1,"quantity":1},{"id_product":2,"quantity":3}]}'],
    ["a product differs", '{"id_client":1,"products":[{"id_product":1,"quantity":1},{"id_product":3,"quantity":3}]}'],
    ["a line is missing", '{"id_client":1,"products":[{"id_product":1,"quantity":1}]}'],
    ["quantities move between products", '{"id_client":1,"products":[{"id_product":1,"quantity":3},{"id_product":2,"quantity":1}]}'],
  ])("differs when %s", async (_change, json) => {
    expect(await fingerprintOf(json)).not.toBe(await fingerprintOf(canonical));
  });

  test("the exported fingerprint is what the store receives", async () => {
    const command = decodePlaceOrderBody(JSON.parse(canonical));
    if (E.isLeft(command)) throw new Error("the canonical body must be valid");
    expect(await fingerprintOf(canonical)).toBe(fingerprint(command.right));
  });
});

describe("fingerprint of a command", () => {
  it("ignores the order of the lines", () => {
    const a = { clientId: 1, lines: [{ productId: 2, quantity: 3 }, { productId: 1, quantity: 1 }] } as const;
    const b = { clientId: 1, lines: [{ productId: 1, quantity: 1 }, { productId: 2, quantity: 3 }] } as const;
    expect(fingerprint(a as never)).toBe(fingerprint(b as never));
  });
});

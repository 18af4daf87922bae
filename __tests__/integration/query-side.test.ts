import { randomUUID } from "node:crypto";
import * as E from "fp-ts/Either";
import * as O from "fp-ts/Option";
import { createOutboxJanitor } from "../../adapters/postgres/outbox-janitor.kysely";
import { createClientViewStore } from "../../adapters/redis/client-view-store.redis";
import { cents } from "../../domain/money";
import { type OutboxEnvelope, orderPlaced, type Uuid } from "../../domain/outbox-event";
import { makeGetClientHandler } from "../../handlers/get-client";
import { makePlaceOrderHandler, placeOrderDeps } from "../../handlers/place-order";
import { makeProjectClientViewHandler } from "../../handlers/project-client-view";
import { makePurgeOutboxHandler } from "../../handlers/purge-outbox";
import { reprojectAll } from "../../handlers/support/reproject-views";
import { failureReasonsOf } from "../../handlers/support/sqs-message";
import { apiGatewayEvent, postOrder } from "../support/api-gateway";
import { migratedDatabase, type TestDatabase } from "../support/database";
import { freshRedis, type TestRedis } from "../support/redis";
import { lambdaContext, snsWrapped, sqsEvent, sqsRecord } from "../support/sqs";

let database: TestDatabase;
let redis: TestRedis;
let views: ReturnType<typeof createClientViewStore>;

beforeAll(async () => {
  database = await migratedDatabase(5);
  redis = freshRedis();
  views = createClientViewStore(redis.connect());
  // As the runtime does at start: the read model gets its generation from a rebuild.
  await reprojectAll({ db: database.db, views });
});

afterAll(async () => {
  await redis.flush();
  await redis.close();
  await database.drop();
});

const project = makeProjectClientViewHandler(async () => ({ views }));
const getClient = makeGetClientHandler(async () => ({ views }));
const purge = makePurgeOutboxHandler(async () => ({ janitor: createOutboxJanitor(database.db) }));
const placeOrder = makePlaceOrderHandler(async () => placeOrderDeps(database.db));

const getEvent = (id: string) =>
  apiGatewayEvent({ method: "GET", resource: "/clients/{id_client}", path: `/clients/${id}`, pathParameters: { id_client: id } });

/** Recent enough for the projector's duplicate-detection window, whole seconds for readability. */
const BASE_MS = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;

const anEvent = (clientId: number, totalCents: number) =>
  orderPlaced({
    eventId: randomUUID() as Uuid,
    orderId: randomUUID(),
    client: { id: clientId, name: `Client ${clientId}`, email: `c${clientId}@example.com` },
    occurredAt: new Date(BASE_MS + clientId * 1_000),
    totalCents: cents(totalCents),
    items: [{ productId: 1, quantity: 1, unitPriceCents: cents(totalCents) }],
  });

/** Every outbox row as the envelope the pipe would deliver. */
const outboxEnvelopes = async (): Promise<OutboxEnvelope[]> =>
  (await database.db.selectFrom("outbox").selectAll().orderBy("occurred_at").execute()).map((row) => ({
    eventId: row.id as Uuid,
    eventType: row.event_type,
    eventVersion: row.event_version,
    aggregateType: row.aggregate_type,
    aggregateId: row.aggregate_id,
    occurredAt: row.occurred_at.toISOString() as OutboxEnvelope["occurredAt"],
    payload: row.payload,
  }));

describe("project-client-view", () => {
  it("fails only the poison message of a batch of ten and applies the nine others", async () => {
    const good = Array.from({ length: 9 }, (_, i) => anEvent(100 + i, 1_000 * (i + 1)));
    const poison = sqsRecord('{"eventId": "not-a-uuid", "eventType": 42}');
    const records = good.map((e, i) => sqsRecord(i % 2 === 0 ? JSON.stringify(e) : snsWrapped(e)));
    records.splice(4, 0, poison);

    const response = await project(sqsEvent(records), lambdaContext());

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: poison.messageId }] });
    for (const [i, e] of good.entries()) {
      const view = await views.get(100 + i)();
      expect(E.isRight(view) && O.isSome(view.right) && view.right.value.totalCents).toBe(e.payload.totalCents);
    }
  });

  it("acknowledges an event type it does not project", async () => {
    const unknown = { ...anEvent(120, 1), eventType: "ClientRenamed", payload: { name: "x" } };
    const response = await project(sqsEvent([sqsRecord(JSON.stringify(unknown))]), lambdaContext());
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await views.get(120)()).toEqual(E.right(O.none));
  });

  it("fails, instead of acknowledging, a known event type that breaks its contract", async () => {
    const valid = anEvent(125, 1_000);
    const broken = [
      { ...valid, payload: { ...valid.payload, totalCents: "1000" } },
      { ...valid, payload: { ...valid.payload, clientEmail: null } },
      { ...valid, aggregateId: "126" },
    ].map((e) => sqsRecord(JSON.stringify(e)));
    const response = await project(sqsEvent(broken), lambdaContext());
    // Every message of the batch failed: each is reported, so SQS retries them all.
    expect(response).toEqual({ batchItemFailures: broken.map((r) => ({ itemIdentifier: r.messageId })) });
    expect([...failureReasonsOf(response).values()]).toEqual([
      expect.stringMatching(/payload/),
      expect.stringMatching(/payload/),
      expect.any(String),
    ]);
    expect(await views.get(125)()).toEqual(E.right(O.none));
    expect(await views.get(126)()).toEqual(E.right(O.none));

    const mixed = await project(sqsEvent([broken[0]!, sqsRecord(JSON.stringify(valid))]), lambdaContext());
    expect(mixed).toEqual({ batchItemFailures: [{ itemIdentifier: broken[0]!.messageId }] });
  });

  it("refuses an event older than the duplicate-detection window instead of maybe counting it twice", async () => {
    const old = orderPlaced({
      eventId: randomUUID() as Uuid,
      orderId: randomUUID(),
      client: { id: 127, name: "Old", email: "old@example.com" },
      occurredAt: new Date(Date.now() - 14 * 86_400_000),
      totalCents: cents(100),
      items: [],
    });
    const fresh = anEvent(128, 100);
    const oldRecord = sqsRecord(JSON.stringify(old));
    const response = await project(sqsEvent([oldRecord, sqsRecord(JSON.stringify(fresh))]), lambdaContext());
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: oldRecord.messageId }] });
    expect(await views.get(127)()).toEqual(E.right(O.none));
  });

  it("fails, and so retries, a record that arrives while the read model has no generation", async () => {
    const e = anEvent(132, 7_000);
    const record = sqsRecord(JSON.stringify(e));
    const acknowledged = sqsRecord(JSON.stringify({ ...anEvent(133, 1), eventType: "ClientRenamed", payload: {} }));
    expect(await views.beginRebuild()()).toEqual(E.right(undefined));
    try {
      const response = await project(sqsEvent([record, acknowledged]), lambdaContext());
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
      // Alone in its batch, the record is reported failed, with the reason.
      const failure = await project(sqsEvent([record]), lambdaContext());
      expect(failure).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
      expect([...failureReasonsOf(failure).values()]).toEqual(["ReadModelUnavailable: read model generation missing, waiting for a rebuild"]);
      expect((await redis.keys()).filter((key) => key.includes("{132}"))).toEqual([]);
    } finally {
      expect(await views.completeRebuild("after-test")()).toEqual(E.right(undefined));
    }
    expect(await project(sqsEvent([record]), lambdaContext())).toEqual({ batchItemFailures: [] });
    const view = await views.get(132)();
    expect(E.isRight(view) && O.isSome(view.right) && [view.right.value.totalCents, view.right.value.orderCount]).toEqual([7_000, 1]);
  });

  it("absorbs a redelivered batch", async () => {
    const e = anEvent(130, 5_000);
    const batch = sqsEvent([sqsRecord(JSON.stringify(e))]);
    await project(batch, lambdaContext());
    await project(batch, lambdaContext());
    const view = await views.get(130)();
    expect(E.isRight(view) && O.isSome(view.right) && [view.right.value.totalCents, view.right.value.orderCount]).toEqual([5_000, 1]);
  });
});

describe("get-client", () => {
  it("answers 200 with exactly the original sample's fields and types", async () => {
    await views.apply(anEvent(140, 300_000))();
    const response = await getClient(getEvent("140"));
    expect(response.statusCode).toBe(200);
    const body = JSON.parse(response.body) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["email", "last_purchase", "name", "total"]);
    expect(body).toEqual({
      name: "Client 140",
      email: "c140@example.com",
      total: 3000,
      last_purchase: (BASE_MS + 140_000) / 1000,
    });
    expect(Number.isInteger(body.last_purchase)).toBe(true);
  });

  it("answers 503 ReadModelUnavailable with Retry-After while the read model has no generation", async () => {
    await views.apply(anEvent(141, 100))();
    expect(await views.beginRebuild()()).toEqual(E.right(undefined));
    try {
      for (const id of ["141", "99998"]) {
        const response = await getClient(getEvent(id));
        expect(response.statusCode).toBe(503);
        expect(response.headers).toEqual(expect.objectContaining({ "retry-after": "1" }));
        expect(JSON.parse(response.body)).toEqual({
          statusCode: 503,
          body: "The read model is being rebuilt; retry shortly",
          code: "ReadModelUnavailable",
        });
      }
    } finally {
      expect(await views.completeRebuild("after-test")()).toEqual(E.right(undefined));
    }
    expect((await getClient(getEvent("141"))).statusCode).toBe(200);
  });

  it("answers 404 for a client without a view", async () => {
    const response = await getClient(getEvent("99999"));
    expect(response.statusCode).toBe(404);
    expect(JSON.parse(response.body)).toEqual(expect.objectContaining({ statusCode: 404, body: "Client not found", code: "ClientNotFound" }));
  });

  it.each(["0", "-1", "abc", "1.5", "01", "99999999999", ""])("answers 400 for the id %p", async (id) => {
    const response = await getClient(getEvent(id));
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toEqual(expect.objectContaining({ statusCode: 400, code: "ValidationFailed" }));
  });
});

describe("purge-outbox", () => {
  it("deletes delivered events' rows, raw or in an SNS envelope, and tolerates missing rows", async () => {
    await placeOrder(postOrder({ id_client: 2, products: [{ id_product: 1, quantity: 1 }] }));
    await placeOrder(postOrder({ id_client: 3, products: [{ id_product: 2, quantity: 2 }] }));
    const envelopes = await outboxEnvelopes();
    expect(envelopes.length).toBeGreaterThanOrEqual(2);
    const records = envelopes.map((e, i) => sqsRecord(i % 2 === 0 ? JSON.stringify(e) : snsWrapped(e)));
    expect(await purge(sqsEvent(records), lambdaContext())).toEqual({ batchItemFailures: [] });
    expect((await database.counts()).outbox).toBe(0);
    // A redelivery finds nothing to delete and still succeeds.
    expect(await purge(sqsEvent(records), lambdaContext())).toEqual({ batchItemFailures: [] });
  });
});

describe("reproject", () => {
  it("restores, after every Redis key is deleted, the views the projector had built", async () => {
    // Start from an empty history, so every order below is also an event we project.
    await database.db.deleteFrom("outbox").execute();
    await database.db.deleteFrom("order").execute();
    await redis.flush();
    await reprojectAll({ db: database.db, views });
    for (let i = 0; i < 30; i++) {
      const response = await placeOrder(
        postOrder({ id_client: (i % 3) + 1, products: [{ id_product: (i % 3) + 1, quantity: (i % 4) + 1 }] }),
      );
      expect(response.statusCode).toBe(200);
    }
    // Project every event the orders produced (placed since the database was created).
    const envelopes = await outboxEnvelopes();
    const response = await project(sqsEvent(envelopes.map((e) => sqsRecord(JSON.stringify(e)))), lambdaContext());
    expect(response.batchItemFailures).toEqual([]);
    const projected = await Promise.all([1, 2, 3].map(async (id) => (await getClient(getEvent(String(id)))).body));
    const projectedViews = await Promise.all([1, 2, 3].map((id) => views.get(id)()));

    await redis.flush();
    expect(await redis.keys()).toEqual([]);
    // A wiped read model says so, instead of claiming the client has no orders.
    expect((await getClient(getEvent("1"))).statusCode).toBe(503);
    expect(JSON.parse((await getClient(getEvent("1"))).body)).toEqual(expect.objectContaining({ code: "ReadModelUnavailable" }));
    expect(await views.apply(anEvent(1, 100))()).toEqual(E.left({ code: "ReadModelUnavailable" }));
    expect(await redis.keys()).toEqual([]);

    const summary = await reprojectAll({ db: database.db, views, pageSize: 2 });
    expect(summary.clients).toBe(3);
    expect(await views.generation()()).toEqual(E.right(O.some(summary.generation)));

    expect(await Promise.all([1, 2, 3].map(async (id) => (await getClient(getEvent(String(id)))).body))).toEqual(projected);
    expect(await Promise.all([1, 2, 3].map((id) => views.get(id)()))).toEqual(projectedViews);

    // The rebuilt markers absorb a late redelivery of an event the rebuild already counts.
    const again = await project(sqsEvent([sqsRecord(JSON.stringify(envelopes[0]))]), lambdaContext());
    expect(again.batchItemFailures).toEqual([]);
    expect(await Promise.all([1, 2, 3].map((id) => views.get(id)()))).toEqual(projectedViews);
  });

  it("runs beside the consumer: clears the generation first, sets a fresh one last, and an event refused meanwhile counts on its retry", async () => {
    const calls: string[] = [];
    let refused: ReturnType<typeof sqsRecord> | undefined;
    const spy: typeof views = {
      ...views,
      beginRebuild: () => {
        calls.push("begin");
        return views.beginRebuild();
      },
      completeRebuild: (generation) => {
        calls.push("complete");
        return views.completeRebuild(generation);
      },
      // Between the first page's read and its write, an order of that page's first client is
      // placed and its event delivered: the timeline of the race the generation closes.
      replace: (page) => async () => {
        calls.push("replace");
        if (refused === undefined) {
          expect(await views.generation()()).toEqual(E.right(O.none));
          const clientId = page[0]!.view.clientId;
          const placed = await placeOrder(postOrder({ id_client: clientId, products: [{ id_product: 1, quantity: 1 }] }));
          expect(placed.statusCode).toBe(200);
          const orderId = (JSON.parse(placed.body) as { order_id: string }).order_id;
          const envelope = (await outboxEnvelopes()).find((e) => (e.payload as { orderId?: unknown }).orderId === orderId);
          expect(envelope).toBeDefined();
          refused = sqsRecord(JSON.stringify(envelope));
          const filler = sqsRecord(JSON.stringify({ ...anEvent(199, 1), eventType: "ClientRenamed", payload: {} }));
          expect(await project(sqsEvent([refused, filler]), lambdaContext())).toEqual({
            batchItemFailures: [{ itemIdentifier: refused.messageId }],
          });
        }
        return views.replace(page)();
      },
    };

    const first = await reprojectAll({ db: database.db, views: spy, pageSize: 2 });
    expect(calls).toEqual(["begin", "replace", "replace", "complete"]);
    expect(first.clients).toBe(3);
    expect(first.generation).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z\/[0-9a-f-]{36}$/);
    expect(await views.generation()()).toEqual(E.right(O.some(first.generation)));

    // The rebuild read the page before the order: the retry adds it, exactly once.
    const expectedTotals = async () =>
      Object.fromEntries(
        (
          await database.db
            .selectFrom("order")
            .select(["client_id", (eb) => eb.fn.sum<number>("total_cents").as("total")])
            .groupBy("client_id")
            .execute()
        ).map((row) => [row.client_id, Number(row.total)]),
      );
    const viewTotals = async () =>
      Object.fromEntries(
        await Promise.all(
          [1, 2, 3].map(async (id) => {
            const view = await views.get(id)();
            return [id, E.isRight(view) && O.isSome(view.right) ? view.right.value.totalCents : null];
          }),
        ),
      );
    expect(await viewTotals()).not.toEqual(await expectedTotals());
    expect(await project(sqsEvent([refused!]), lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(await viewTotals()).toEqual(await expectedTotals());
    expect(await project(sqsEvent([refused!]), lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(await viewTotals()).toEqual(await expectedTotals());

    const second = await reprojectAll({ db: database.db, views, pageSize: 2 });
    expect(second.generation).not.toBe(first.generation);
    expect(await viewTotals()).toEqual(await expectedTotals());
  });
});

import { randomUUID } from "node:crypto";
import * as O from "fp-ts/Option";
import { createClientViewStore, type RedisClientViewStore } from "../../adapters/redis/client-view-store.redis";
import { apply } from "../../domain/client-view";
import { cents } from "../../domain/money";
import { type OrderPlaced, orderPlaced, type Uuid } from "../../domain/outbox-event";
import { makeProjectClientViewHandler } from "../../handlers/project-client-view";
import { failureReasonsOf } from "../../handlers/support/sqs-message";
import { freshRedis, type TestRedis } from "../support/redis";
import { lambdaContext, snsWrapped, sqsEvent, sqsRecord } from "../support/sqs";

let redis: TestRedis;
let views: RedisClientViewStore;

beforeAll(async () => {
  redis = freshRedis();
  views = createClientViewStore(redis.connect());
  await views.completeRebuild("g-test")();
});

afterAll(async () => {
  await redis.close();
});

const event = (clientId: number, n: number, name: string): OrderPlaced =>
  orderPlaced({
    eventId: randomUUID() as Uuid,
    orderId: randomUUID(),
    client: { id: clientId, name, email: `${name.toLowerCase()}@example.com` },
    occurredAt: new Date(Date.now() - 60_000 + n * 1000),
    totalCents: cents(100 * n),
    items: [{ productId: 1, quantity: n, unitPriceCents: cents(100) }],
  });

describe("a projection batch (its records applied concurrently, in one pipelined write)", () => {
  it("applies several events of one client, a copy inside the batch and a redelivered batch exactly once each", async () => {
    const client = 7001;
    // The latest profile comes first in the batch: the result must not depend on the order.
    const events = [event(client, 5, "Newest"), event(client, 1, "Oldest"), event(client, 3, "Middle"), event(client + 1, 2, "Other")];
    const copy = events[1]!;
    const records = [...events, copy].map((e) => sqsRecord(snsWrapped(e)));
    records.splice(2, 0, sqsRecord(JSON.stringify({ eventType: "OrderPlaced" })));
    const project = makeProjectClientViewHandler(async () => ({ views }));

    const first = await project(sqsEvent(records), lambdaContext());
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: records[2]!.messageId }]);
    expect(failureReasonsOf(first).get(records[2]!.messageId)).toMatch(/^not an OutboxEvent: /);
    const again = await project(sqsEvent(records.filter((_, i) => i !== 2)), lambdaContext());
    expect(again.batchItemFailures).toEqual([]);

    const expected = events
      .filter((e) => e.payload.clientId === client)
      .reduce<O.Option<ReturnType<typeof apply>>>((view, e) => O.some(apply(view, e)), O.none);
    expect(await views.get(client)()).toEqual({ _tag: "Right", right: expected });
    const view = O.toUndefined(expected);
    expect(view?.orderCount).toBe(3);
    expect(view?.totalCents).toBe(900);
    expect(view?.name).toBe("Newest");
  });
});

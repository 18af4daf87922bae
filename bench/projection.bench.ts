import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { createClientViewStore } from "../adapters/redis/client-view-store.redis";
import { cents } from "../domain/money";
import { orderPlaced, type Uuid } from "../domain/outbox-event";
import { startRedisServer } from "../local/redis-server";
import { measure, ratio } from "./measure";

const BATCH = 100;

/**
 * Applying events through the exactly-once Lua script, against the bare increment it
 * replaces (the unsafe read-model update of the original sample is at best this fast).
 */
export const projectionBench = async (): Promise<ReadonlyArray<string>> => {
  const server = await startRedisServer();
  const redis = new Redis(server.url, { enableAutoPipelining: true });
  try {
    const store = createClientViewStore(redis);
    // Appliers refuse events until a rebuild has written the read model's generation.
    await store.completeRebuild("bench")();
    const events = () =>
      Array.from({ length: BATCH }, (_, i) =>
        orderPlaced({
          eventId: randomUUID() as Uuid,
          orderId: randomUUID(),
          client: { id: (i % 50) + 1, name: "Bench", email: "bench@example.com" },
          occurredAt: new Date(),
          totalCents: cents(1_000 + i),
          items: [],
        }),
      );
    const baseline = await measure(`HINCRBY x${BATCH}`, () =>
      Promise.all(events().map((e) => redis.hincrby(`bench:{${e.payload.clientId}}`, "total_cents", e.payload.totalCents))),
    );
    const subject = await measure(`Lua apply-once x${BATCH}`, () => Promise.all(events().map((e) => store.apply(e)())));
    return [ratio(subject, baseline)];
  } finally {
    redis.disconnect();
    await server.stop();
  }
};

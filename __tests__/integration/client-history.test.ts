import { randomUUID } from "node:crypto";
import fc from "fast-check";
import * as O from "fp-ts/Option";
import { rebuildViews } from "../../adapters/postgres/client-history.kysely";
import { type ClientView, apply } from "../../domain/client-view";
import { cents } from "../../domain/money";
import { orderPlaced, type Uuid } from "../../domain/outbox-event";
import { migratedDatabase, type TestDatabase } from "../support/database";

let database: TestDatabase;
beforeAll(async () => (database = await migratedDatabase(2)));
afterAll(async () => database.drop());

/** The seed's clients are 1..3; each run of the property gets a client of its own above them. */
let nextClient = 1_000;

describe("the rebuild's SQL aggregate (rebuildViews)", () => {
  it("agrees with the domain reducer, the reference, including ties within one millisecond", async () => {
    const base = Date.UTC(2026, 2, 1);
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            ms: fc.constantFrom(base, base + 1, base + 999, base + 1_000, base + 86_400_000),
            cents: fc.integer({ min: 0, max: 10_000_000 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        async (specs) => {
          const client = { id: (nextClient += 1), name: `Client ${nextClient}`, email: `c${nextClient}@example.com` };
          await database.db.insertInto("client").values(client).execute();
          // Each order as the order store writes it, and the event it would announce.
          const events = specs.map((spec) =>
            orderPlaced({
              eventId: randomUUID() as Uuid,
              orderId: randomUUID(),
              client,
              occurredAt: new Date(spec.ms),
              totalCents: cents(spec.cents),
              items: [],
            }),
          );
          await database.db
            .insertInto("order")
            .values(
              events.map((e) => ({
                id: e.payload.orderId,
                client_id: client.id,
                placed_at: e.occurredAt,
                total_cents: e.payload.totalCents,
                event_id: e.eventId,
                idempotency_key: null,
                request_fingerprint: null,
              })),
            )
            .execute();

          const expected = events.reduce<O.Option<ClientView>>((view, e) => O.some(apply(view, e)), O.none);
          const rebuilt = await rebuildViews(database.db, client.id - 1, 1, 60);
          expect(rebuilt.map((r) => O.some(r.view))).toEqual([expected]);
        },
      ),
      { numRuns: 40 },
    );
  });
});

import * as E from "fp-ts/Either";
import * as O from "fp-ts/Option";
import * as TE from "fp-ts/TaskEither";
import { type Kysely, sql, type Transaction } from "kysely";
import { type DomainError, duplicateRequest, unavailable } from "../../domain/errors";
import { cents } from "../../domain/money";
import type { Client, Product } from "../../domain/order";
import type { IdempotencyClaim, NewOrder, OrderReads, OrderStore, PlacedOrder } from "../../domain/ports";
import type { Database, OrderRow } from "./schema";

/** Test seams: run inside the transaction, after the order, its lines and its event are written. */
export interface OrderStoreFaults {
  readonly beforeCommit?: () => Promise<void>;
}

/** A business failure raised inside the transaction: it rolls back, then becomes a Left. */
class Rollback {
  constructor(readonly error: DomainError) {}
}

const fromDb = (operation: string) => (cause: unknown): DomainError =>
  cause instanceof Rollback ? cause.error : unavailable(operation)(cause);

const readsIn = (trx: Transaction<Database>): OrderReads => ({
  clients: {
    findClient: (id) =>
      TE.tryCatch(
        async () =>
          O.fromNullable<Client | undefined>(
            await trx.selectFrom("client").select(["id", "name", "email"]).where("id", "=", id).executeTakeFirst(),
          ),
        fromDb("read client"),
      ),
  },
  catalog: {
    findProducts: (ids) =>
      ids.length === 0
        ? TE.right([])
        : TE.tryCatch(
            async () =>
              (await trx.selectFrom("product").select(["id", "name", "price_cents"]).where("id", "in", [...ids]).execute()).map(
                (row): Product => ({ id: row.id, name: row.name, priceCents: cents(row.price_cents) }),
              ),
            fromDb("read products"),
          ),
  },
});

const rowToPlacedOrder = (row: OrderRow, replayed: boolean): PlacedOrder => ({
  orderId: row.id,
  clientId: row.client_id,
  totalCents: cents(row.total_cents),
  placedAt: Math.floor(row.placed_at.getTime() / 1000),
  replayed,
});

/** The earlier result for this key, or `DuplicateRequest` when the key came with another request. */
const replay = (existing: OrderRow, claim: IdempotencyClaim): PlacedOrder => {
  if (existing.request_fingerprint !== claim.fingerprint) throw new Rollback(duplicateRequest(claim.key));
  return rowToPlacedOrder(existing, true);
};

const findByKey = (trx: Transaction<Database>, key: string): Promise<OrderRow | undefined> =>
  trx.selectFrom("order").selectAll().where("idempotency_key", "=", key).executeTakeFirst();

/**
 * The order, its lines and its outbox row in ONE statement (data-modifying CTEs): one round
 * trip instead of three. Lines and event are inserted from the order CTE, so when the
 * idempotency key conflicts nothing at all is written and no row comes back.
 */
const writeOrder = async (
  trx: Transaction<Database>,
  order: NewOrder,
  claim: IdempotencyClaim | undefined,
): Promise<OrderRow | undefined> => {
  const { event } = order;
  const result = await sql<OrderRow>`
    WITH placed AS (
      INSERT INTO "order" (id, client_id, placed_at, total_cents, event_id, idempotency_key, request_fingerprint)
      VALUES (${order.id}, ${order.clientId}, ${event.occurredAt}, ${order.totalCents}, ${event.eventId},
              ${claim?.key ?? null}, ${claim?.fingerprint ?? null})
      ON CONFLICT (idempotency_key) DO NOTHING
      RETURNING *
    ), lines AS (
      INSERT INTO order_item (order_id, product_id, quantity, unit_price_cents)
      SELECT placed.id, line.product_id, line.quantity, line.unit_price_cents
        FROM placed,
             unnest(${order.lines.map((l) => l.productId)}::int[],
                    ${order.lines.map((l) => l.quantity)}::int[],
                    ${order.lines.map((l) => l.unitPriceCents)}::bigint[]) AS line(product_id, quantity, unit_price_cents)
    ), announced AS (
      INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, event_version, payload, occurred_at)
      SELECT ${event.eventId}, ${event.aggregateType}, ${event.aggregateId}, ${event.eventType}, ${event.eventVersion},
             ${JSON.stringify(event.payload)}::jsonb, ${event.occurredAt}
        FROM placed
    )
    SELECT * FROM placed`.execute(trx);
  return result.rows[0];
};

/**
 * Places an order and its outbox event in ONE transaction (READ COMMITTED):
 *
 *   1. with a key: an order already stored under it is the answer (nothing is written);
 *   2. `decide` reads the client and prices inside the transaction and builds the order;
 *   3. INSERT "order" ... ON CONFLICT (idempotency_key) DO NOTHING, with its lines and its
 *      outbox row in the same statement. Timeline of a race:
 *        A: SELECT key -> none           B: SELECT key -> none
 *        A: INSERT order (key)           B: INSERT order (key) -> waits on A's row lock
 *        A: COMMIT                       B: conflict -> no row; re-SELECT sees A's order
 *      so B answers with A's order and writes nothing;
 *   4. COMMIT. Any failure rolls everything back.
 *
 * Nothing is published from here: the log tailer picks the outbox row up after COMMIT.
 */
export const createOrderStore = (db: Kysely<Database>, faults: OrderStoreFaults = {}): OrderStore => ({
  placeOrder: (idempotency, decide) =>
    TE.tryCatch(
      () =>
        db.transaction().execute(async (trx) => {
          const claim = O.toUndefined(idempotency);
          if (claim !== undefined) {
            const existing = await findByKey(trx, claim.key);
            if (existing !== undefined) return replay(existing, claim);
          }
          const decided = await decide(readsIn(trx))();
          if (E.isLeft(decided)) throw new Rollback(decided.left);
          const order = decided.right;

          const inserted = await writeOrder(trx, order, claim);
          if (inserted === undefined) {
            // Only an idempotency-key conflict leaves no row (see step 3).
            const winner = claim === undefined ? undefined : await findByKey(trx, claim.key);
            if (winner === undefined || claim === undefined) throw new Error("order insert returned no row");
            return replay(winner, claim);
          }
          await faults.beforeCommit?.();
          return rowToPlacedOrder(inserted, false);
        }),
      fromDb("place order"),
    ),
});

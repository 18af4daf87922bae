import * as E from "fp-ts/Either";
import * as O from "fp-ts/Option";
import * as TE from "fp-ts/TaskEither";
import { CompiledQuery, type Kysely } from "kysely";
import { type DomainError, duplicateRequest, unavailable } from "../../domain/errors";
import { cents } from "../../domain/money";
import type { Client, Product, ProductId } from "../../domain/order";
import type { IdempotencyClaim, NewOrder, OrderReads, OrderReadsWanted, OrderStore, PlacedOrder } from "../../domain/ports";
import { preparedStatement } from "./pool";
import type { Database } from "./schema";

/**
 * Test seams. `beforeCommit` runs after the order, its lines and its event are written and
 * before they commit: with it, the write statement runs inside an explicit transaction
 * (BEGIN, the statement, the seam, COMMIT) instead of as an implicit one.
 */
export interface OrderStoreFaults {
  readonly beforeCommit?: () => Promise<void>;
}

/** A business failure found while placing the order: nothing was written; it becomes a Left. */
class Refusal {
  constructor(readonly error: DomainError) {}
}

const fromDb = (operation: string) => (cause: unknown): DomainError =>
  cause instanceof Refusal ? cause.error : unavailable(operation)(cause);

/** The columns of a stored order the answer needs. */
interface StoredOrder {
  readonly id: string;
  readonly client_id: number;
  readonly total_cents: number;
  readonly placed_at: Date;
  readonly request_fingerprint: string | null;
}

const ORDER_COLUMNS = "id, client_id, total_cents, placed_at, request_fingerprint";

/**
 * Everything placing an order reads, in one round trip: the order already stored under the
 * idempotency key (none without a key: NULL matches nothing), the client, and the products
 * among the ids asked for, at their current price. The aggregate subquery always yields
 * one row, so the client and the keyed order are left-joined to it.
 *
 * $1 client id, $2 idempotency key or NULL, $3 product ids
 */
const READ_SQL = preparedStatement(
  "place_order_read",
  `SELECT c.id AS client_id, c.name AS client_name, c.email AS client_email,
          o.id AS order_id, o.client_id AS order_client_id, o.total_cents AS order_total_cents,
          o.placed_at AS order_placed_at, o.request_fingerprint AS order_fingerprint,
          p.ids AS product_ids, p.names AS product_names, p.prices AS product_prices
     FROM (SELECT coalesce(array_agg(id), '{}') AS ids, coalesce(array_agg(name), '{}') AS names,
                  coalesce(array_agg(price_cents::text), '{}') AS prices
             FROM product WHERE id = ANY($3::int[])) AS p
     LEFT JOIN client c ON c.id = $1::int
     LEFT JOIN "order" o ON o.idempotency_key = $2::text`,
);

interface ReadRow {
  readonly client_id: number | null;
  readonly client_name: string | null;
  readonly client_email: string | null;
  readonly order_id: string | null;
  readonly order_client_id: number | null;
  readonly order_total_cents: number | null;
  readonly order_placed_at: Date | null;
  readonly order_fingerprint: string | null;
  readonly product_ids: ReadonlyArray<number>;
  readonly product_names: ReadonlyArray<string>;
  /** As text: pg parses an int8[] element as a string; `cents` checks each is exact. */
  readonly product_prices: ReadonlyArray<string>;
}

/**
 * The order, its lines and its outbox row in ONE statement (data-modifying CTEs), which is
 * its own transaction: all three commit together or none does. Lines and event are inserted
 * from the order CTE, so when the idempotency key conflicts nothing at all is written and no
 * row comes back.
 *
 * $1 order id, $2 client id, $3 occurred at, $4 total, $5 event id, $6 key, $7 fingerprint,
 * $8 product ids, $9 quantities, $10 unit prices, $11 aggregate type, $12 aggregate id,
 * $13 event type, $14 event version, $15 payload
 */
const WRITE_SQL = preparedStatement(
  "place_order_write",
  `WITH placed AS (
     INSERT INTO "order" (id, client_id, placed_at, total_cents, event_id, idempotency_key, request_fingerprint)
     VALUES ($1::uuid, $2::int, $3::timestamptz, $4::bigint, $5::uuid, $6::text, $7::text)
     ON CONFLICT (idempotency_key) DO NOTHING
     RETURNING ${ORDER_COLUMNS}
   ), lines AS (
     INSERT INTO order_item (order_id, product_id, quantity, unit_price_cents)
     SELECT placed.id, line.product_id, line.quantity, line.unit_price_cents
       FROM placed, unnest($8::int[], $9::int[], $10::bigint[]) AS line(product_id, quantity, unit_price_cents)
   ), announced AS (
     INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, event_version, payload, occurred_at)
     SELECT $5::uuid, $11::text, $12::text, $13::text, $14::int, $15::jsonb, $3::timestamptz
       FROM placed
   )
   SELECT ${ORDER_COLUMNS} FROM placed`,
);

/** The order stored under a key, read again after the write lost a race for that key. */
const FIND_BY_KEY_SQL = preparedStatement(
  "place_order_find_by_key",
  `SELECT ${ORDER_COLUMNS} FROM "order" WHERE idempotency_key = $1::text`,
);

const rowToPlacedOrder = (row: StoredOrder, replayed: boolean): PlacedOrder => ({
  orderId: row.id,
  clientId: row.client_id,
  totalCents: cents(row.total_cents),
  placedAt: Math.floor(row.placed_at.getTime() / 1000),
  replayed,
});

/** The earlier result for this key, or `DuplicateRequest` when the key came with another request. */
const replay = (existing: StoredOrder, claim: IdempotencyClaim): PlacedOrder => {
  if (existing.request_fingerprint !== claim.fingerprint) throw new Refusal(duplicateRequest(claim.key));
  return rowToPlacedOrder(existing, true);
};

const keyedOrderOf = (row: ReadRow): StoredOrder | undefined =>
  row.order_id === null || row.order_client_id === null || row.order_total_cents === null || row.order_placed_at === null
    ? undefined
    : {
        id: row.order_id,
        client_id: row.order_client_id,
        total_cents: row.order_total_cents,
        placed_at: row.order_placed_at,
        request_fingerprint: row.order_fingerprint,
      };

/**
 * Reads served from what the read fetched. A read of something that was not fetched (a
 * `decide` reading more than `wanted` said) goes to the database, so the answer is right
 * either way.
 */
const readsFrom = (db: Kysely<Database>, row: ReadRow, wanted: OrderReadsWanted): OrderReads => {
  const client: O.Option<Client> =
    row.client_id === null || row.client_name === null || row.client_email === null
      ? O.none
      : O.some({ id: row.client_id, name: row.client_name, email: row.client_email });
  const products: ReadonlyArray<Product> = row.product_ids.map((id, i) => ({
    id,
    name: row.product_names[i] as string,
    priceCents: cents(Number(row.product_prices[i])),
  }));
  const fetched = new Set<ProductId>(wanted.productIds);
  return {
    clients: {
      findClient: (id) =>
        id === wanted.clientId
          ? TE.right(client)
          : TE.tryCatch(
              async () =>
                O.fromNullable<Client | undefined>(
                  await db.selectFrom("client").select(["id", "name", "email"]).where("id", "=", id).executeTakeFirst(),
                ),
              fromDb("read client"),
            ),
    },
    catalog: {
      findProducts: (ids) =>
        ids.every((id) => fetched.has(id))
          ? TE.right(products.filter((product) => ids.includes(product.id)))
          : TE.tryCatch(
              async () =>
                (await db.selectFrom("product").select(["id", "name", "price_cents"]).where("id", "in", [...ids]).execute()).map(
                  (p): Product => ({ id: p.id, name: p.name, priceCents: cents(p.price_cents) }),
                ),
              fromDb("read products"),
            ),
    },
  };
};

const writeParameters = (order: NewOrder, claim: IdempotencyClaim | undefined): ReadonlyArray<unknown> => {
  const { event } = order;
  return [
    order.id,
    order.clientId,
    event.occurredAt,
    order.totalCents,
    event.eventId,
    claim?.key ?? null,
    claim?.fingerprint ?? null,
    order.lines.map((l) => l.productId),
    order.lines.map((l) => l.quantity),
    order.lines.map((l) => l.unitPriceCents),
    event.aggregateType,
    event.aggregateId,
    event.eventType,
    event.eventVersion,
    JSON.stringify(event.payload),
  ];
};

/**
 * Places an order and its outbox event in two round trips instead of five
 * (BEGIN, 2 SELECTs, the write, COMMIT):
 *
 *   1. one read (READ_SQL): the order already stored under the key, if any, is the answer
 *      and nothing is written; else `decide` prices the order from the client and the
 *      products the same read fetched (READ COMMITTED: these are the reads a transaction
 *      would have made, see `OrderReads`);
 *   2. one write (WRITE_SQL), an implicit transaction: INSERT "order" ... ON CONFLICT
 *      (idempotency_key) DO NOTHING, with its lines and its outbox row in the same
 *      statement. Timeline of a race:
 *        A: read key -> none             B: read key -> none
 *        A: INSERT order (key)           B: INSERT order (key) -> waits on A's row lock
 *        A: commits                      B: conflict -> no row, nothing written;
 *                                           re-SELECT sees A's order
 *      so B answers with A's order and writes nothing. A client deleted since the read
 *      fails the write on the foreign key (nothing written), as inside a transaction.
 *
 * Both statements are named prepared statements: each connection plans them once.
 * Nothing is published from here: the log tailer picks the outbox row up after the commit.
 */
export const createOrderStore = (db: Kysely<Database>, faults: OrderStoreFaults = {}): OrderStore => {
  const beforeCommit = faults.beforeCommit;
  const write = async (parameters: ReadonlyArray<unknown>): Promise<StoredOrder | undefined> => {
    const query = CompiledQuery.raw(WRITE_SQL, [...parameters]);
    if (beforeCommit === undefined) return (await db.executeQuery<StoredOrder>(query)).rows[0];
    return db.transaction().execute(async (trx) => {
      const inserted = (await trx.executeQuery<StoredOrder>(query)).rows[0];
      if (inserted !== undefined) await beforeCommit();
      return inserted;
    });
  };
  return {
    placeOrder: (idempotency, wanted, decide) =>
      TE.tryCatch(async () => {
        const claim = O.toUndefined(idempotency);
        const read = (
          await db.executeQuery<ReadRow>(CompiledQuery.raw(READ_SQL, [wanted.clientId, claim?.key ?? null, [...wanted.productIds]]))
        ).rows[0];
        if (read === undefined) throw new Error("the place-order read returned no row");
        const existing = keyedOrderOf(read);
        if (existing !== undefined && claim !== undefined) return replay(existing, claim);

        const decided = await decide(readsFrom(db, read, wanted))();
        if (E.isLeft(decided)) throw new Refusal(decided.left);

        const inserted = await write(writeParameters(decided.right, claim));
        if (inserted !== undefined) return rowToPlacedOrder(inserted, false);
        // Only an idempotency-key conflict leaves no row (see step 2).
        const winner =
          claim === undefined ? undefined : (await db.executeQuery<StoredOrder>(CompiledQuery.raw(FIND_BY_KEY_SQL, [claim.key]))).rows[0];
        if (winner === undefined || claim === undefined) throw new Error("order insert returned no row");
        return replay(winner, claim);
      }, fromDb("place order")),
  };
};

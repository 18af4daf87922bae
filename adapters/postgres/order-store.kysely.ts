import * as E from "fp-ts/Either";
import * as O from "fp-ts/Option";
import * as TE from "fp-ts/TaskEither";
import { CompiledQuery, type Kysely } from "kysely";
import { type DomainError, duplicateRequest, unavailable } from "../../domain/errors";
import { cents } from "../../domain/money";
import type { Client, Product, ProductId } from "../../domain/order";
import type { IdempotencyClaim, NewOrder, OrderReads, OrderReadsWanted, OrderStore, PlacedOrder } from "../../domain/ports";
import { preparedStatement } from "./pool";
import { batcher } from "./statement-batcher";
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
 * Everything placing an order reads, for a batch of orders in one round trip: per order, the
 * order already stored under its idempotency key (none without a key: NULL matches nothing),
 * its client, and the products among the ids it asks for, at their current price. One row
 * per order, in the order of the batch; the lateral aggregate always yields one row, so the
 * client and the keyed order are left-joined to it.
 *
 * $1 client ids, $2 idempotency keys (or NULLs), one per order;
 * $3 order indexes (from 1) and $4 product ids, one pair per product asked for
 */
const READ_SQL = preparedStatement(
  "place_order_read",
  `SELECT c.id AS client_id, c.name AS client_name, c.email AS client_email,
          o.id AS order_id, o.client_id AS order_client_id, o.total_cents AS order_total_cents,
          o.placed_at AS order_placed_at, o.request_fingerprint AS order_fingerprint,
          p.ids AS product_ids, p.names AS product_names, p.prices AS product_prices
     FROM unnest($1::int[], $2::text[]) WITH ORDINALITY AS asked(client_id, idempotency_key, i)
     CROSS JOIN LATERAL (
       SELECT coalesce(array_agg(product.id), '{}') AS ids, coalesce(array_agg(product.name), '{}') AS names,
              coalesce(array_agg(product.price_cents::text), '{}') AS prices
         FROM product
        WHERE product.id IN (SELECT wanted.product_id FROM unnest($3::int[], $4::int[]) AS wanted(i, product_id)
                              WHERE wanted.i = asked.i)) AS p
     LEFT JOIN client c ON c.id = asked.client_id
     LEFT JOIN "order" o ON o.idempotency_key = asked.idempotency_key
    ORDER BY asked.i`,
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
 * A batch of orders, their lines and their outbox rows in ONE statement (data-modifying
 * CTEs), which is its own transaction: everything commits together or nothing does. Lines and
 * events are inserted only for the orders the statement placed, so an order whose
 * idempotency key conflicts writes nothing at all and returns no row, whether the key was
 * taken before or by an earlier order of the same batch (ON CONFLICT DO NOTHING skips both).
 *
 * Per order: $1 id, $2 client id, $3 occurred at, $4 total, $5 event id, $6 key, $7
 * fingerprint, $8 aggregate type, $9 aggregate id, $10 event type, $11 event version,
 * $12 payload. Per line: $13 order id, $14 product id, $15 quantity, $16 unit price.
 */
const WRITE_SQL = preparedStatement(
  "place_order_write",
  `WITH asked AS (
     SELECT * FROM unnest($1::uuid[], $2::int[], $3::timestamptz[], $4::bigint[], $5::uuid[], $6::text[], $7::text[],
                          $8::text[], $9::text[], $10::text[], $11::int[], $12::text[])
       AS a(id, client_id, occurred_at, total_cents, event_id, idempotency_key, request_fingerprint,
            aggregate_type, aggregate_id, event_type, event_version, payload)
   ), placed AS (
     INSERT INTO "order" (id, client_id, placed_at, total_cents, event_id, idempotency_key, request_fingerprint)
     SELECT id, client_id, occurred_at, total_cents, event_id, idempotency_key, request_fingerprint FROM asked
     ON CONFLICT (idempotency_key) DO NOTHING
     RETURNING ${ORDER_COLUMNS}
   ), lines AS (
     INSERT INTO order_item (order_id, product_id, quantity, unit_price_cents)
     SELECT line.order_id, line.product_id, line.quantity, line.unit_price_cents
       FROM unnest($13::uuid[], $14::int[], $15::int[], $16::bigint[]) AS line(order_id, product_id, quantity, unit_price_cents)
       JOIN placed ON placed.id = line.order_id
   ), announced AS (
     INSERT INTO outbox (id, aggregate_type, aggregate_id, event_type, event_version, payload, occurred_at)
     SELECT asked.event_id, asked.aggregate_type, asked.aggregate_id, asked.event_type, asked.event_version,
            asked.payload::jsonb, asked.occurred_at
       FROM asked JOIN placed ON placed.id = asked.id
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

/** One order's part of a batched read. */
interface ReadAsked {
  readonly clientId: number;
  readonly key: string | null;
  readonly productIds: ReadonlyArray<ProductId>;
}

/** One order's part of a batched write. */
interface WriteAsked {
  readonly order: NewOrder;
  readonly claim: IdempotencyClaim | undefined;
}

const readParameters = (batch: ReadonlyArray<ReadAsked>): unknown[] => {
  const indexes: number[] = [];
  const productIds: number[] = [];
  batch.forEach((asked, i) => {
    for (const id of asked.productIds) {
      indexes.push(i + 1);
      productIds.push(id);
    }
  });
  return [batch.map((a) => a.clientId), batch.map((a) => a.key), indexes, productIds];
};

const writeParameters = (batch: ReadonlyArray<WriteAsked>): unknown[] => {
  const columns: unknown[][] = Array.from({ length: 16 }, () => []);
  const push = (column: number, value: unknown) => (columns[column] as unknown[]).push(value);
  for (const { order, claim } of batch) {
    const { event } = order;
    [
      order.id,
      order.clientId,
      event.occurredAt,
      order.totalCents,
      event.eventId,
      claim?.key ?? null,
      claim?.fingerprint ?? null,
      event.aggregateType,
      event.aggregateId,
      event.eventType,
      event.eventVersion,
      JSON.stringify(event.payload),
    ].forEach((value, column) => push(column, value));
    for (const line of order.lines) {
      push(12, order.id);
      push(13, line.productId);
      push(14, line.quantity);
      push(15, line.unitPriceCents);
    }
  }
  return columns;
};

/** An error the server answered for the statement: it failed whole, and wrote nothing. */
const statementFailed = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  // Class 08 (connection) and 57 (operator intervention: shutdown, crash) end the
  // connection: whether a commit happened is not known, so nothing is retried.
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith("08") && !code.startsWith("57");
};

/** Batches of at most this many orders; and so many statements of each kind out at once. */
const MAX_BATCH = 64;
const MAX_IN_FLIGHT = 2;

interface Statements {
  readonly read: (asked: ReadAsked) => Promise<ReadRow>;
  readonly write: (asked: WriteAsked) => Promise<StoredOrder | undefined>;
}

const statementsFor = (db: Kysely<Database>, beforeCommit: (() => Promise<void>) | undefined): Statements => {
  const read = batcher<ReadAsked, ReadRow>(
    async (batch) => (await db.executeQuery<ReadRow>(CompiledQuery.raw(READ_SQL, readParameters(batch)))).rows,
    { maxBatch: MAX_BATCH, maxInFlight: MAX_IN_FLIGHT, isolate: statementFailed },
  );
  const writeBatch = async (batch: ReadonlyArray<WriteAsked>): Promise<ReadonlyArray<StoredOrder | undefined>> => {
    const query = CompiledQuery.raw(WRITE_SQL, writeParameters(batch));
    const rows =
      beforeCommit === undefined
        ? (await db.executeQuery<StoredOrder>(query)).rows
        : await db.transaction().execute(async (trx) => {
            const inserted = (await trx.executeQuery<StoredOrder>(query)).rows;
            if (inserted.length > 0) await beforeCommit();
            return inserted;
          });
    const byId = new Map(rows.map((row) => [row.id, row]));
    return batch.map(({ order }) => byId.get(order.id));
  };
  const write = batcher<WriteAsked, StoredOrder | undefined>(writeBatch, {
    maxBatch: MAX_BATCH,
    maxInFlight: MAX_IN_FLIGHT,
    isolate: statementFailed,
  });
  return { read, write };
};

/** One set of batchers per database handle: every request of the process shares them. */
const shared = new WeakMap<Kysely<Database>, Statements>();

/**
 * Places an order and its outbox event in two round trips instead of five
 * (BEGIN, 2 SELECTs, the write, COMMIT), each shared with the orders placed at the same
 * time (`statement-batcher.ts`):
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
 *      fails the write on the foreign key; the batch is then written order by order, so
 *      that order alone fails, with nothing written for it.
 *
 * An order is acknowledged only once the statement that wrote it committed; a batch that
 * fails leaves none of its orders written. Both statements are named prepared statements:
 * each connection parses them once. Nothing is published from here: the log tailer picks
 * the outbox rows up after the commit.
 */
export const createOrderStore = (db: Kysely<Database>, faults: OrderStoreFaults = {}): OrderStore => {
  const beforeCommit = faults.beforeCommit;
  let statements = beforeCommit === undefined ? shared.get(db) : undefined;
  if (statements === undefined) {
    statements = statementsFor(db, beforeCommit);
    if (beforeCommit === undefined) shared.set(db, statements);
  }
  const { read, write } = statements;
  return {
    placeOrder: (idempotency, wanted, decide) =>
      TE.tryCatch(async () => {
        const claim = O.toUndefined(idempotency);
        const row = await read({ clientId: wanted.clientId, key: claim?.key ?? null, productIds: wanted.productIds });
        const existing = keyedOrderOf(row);
        if (existing !== undefined && claim !== undefined) return replay(existing, claim);

        const decided = await decide(readsFrom(db, row, wanted))();
        if (E.isLeft(decided)) throw new Refusal(decided.left);

        const inserted = await write({ order: decided.right, claim });
        if (inserted !== undefined) return rowToPlacedOrder(inserted, false);
        // Only an idempotency-key conflict leaves no row (see step 2).
        const winner =
          claim === undefined ? undefined : (await db.executeQuery<StoredOrder>(CompiledQuery.raw(FIND_BY_KEY_SQL, [claim.key]))).rows[0];
        if (winner === undefined || claim === undefined) throw new Error("order insert returned no row");
        return replay(winner, claim);
      }, fromDb("place order")),
  };
};

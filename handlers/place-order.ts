import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import * as E from "fp-ts/Either";
import * as O from "fp-ts/Option";
import * as RNEA from "fp-ts/ReadonlyNonEmptyArray";
import { pipe } from "fp-ts/function";
import type { Kysely } from "kysely";
import { createOrderStore, type OrderStoreFaults } from "../adapters/postgres/order-store.kysely";
import type { Database } from "../adapters/postgres/schema";
import { type DomainError, type Issue, validationFailed } from "../domain/errors";
import { ClientIdCodec, MAX_LINES, type OrderLine, type PlaceOrderCommand, ProductIdCodec, QuantityCodec } from "../domain/order";
import { centsToUnits } from "../domain/money";
import type { Uuid } from "../domain/outbox-event";
import { placeOrder, type PlaceOrderDeps, type PlaceOrderInput } from "../domain/place-order";
import { boundedArray, decodeWith, strictType } from "../domain/validation";
import { configuredEntry } from "./support/configuration";
import { databaseSettings, sharedDb } from "./support/database";
import { errorResponse, requestIdOf, header, type HttpError, jsonBody, jsonResponse } from "./support/http";

// ---- the request codec: POST /orders as the wire names it ----

const ProductLineBody = strictType({ id_product: ProductIdCodec, quantity: QuantityCodec }, "ProductLine");

/** `{"id_client": int, "products": [{"id_product": int, "quantity": int}]}`, unknown fields refused. */
export const PlaceOrderBody = strictType(
  { id_client: ClientIdCodec, products: boundedArray(ProductLineBody, 1, MAX_LINES, "ProductLines") },
  "PlaceOrderBody",
);

/**
 * Two lines for the same product are rejected rather than merged: a merged quantity could
 * silently exceed the per-line bound, and the client most likely sent the line twice by
 * mistake. Each repeat is reported at its own path. Read from the raw input, so a repeat is
 * reported even when other fields of the request are invalid too.
 */
const duplicateLines = (input: unknown): ReadonlyArray<Issue> => {
  const products = typeof input === "object" && input !== null ? (input as { products?: unknown }).products : undefined;
  if (!Array.isArray(products)) return [];
  const firstIndex = new Map<number, number>();
  return products.flatMap((line: unknown, index) => {
    const id = typeof line === "object" && line !== null ? (line as { id_product?: unknown }).id_product : undefined;
    if (!ProductIdCodec.is(id)) return [];
    const first = firstIndex.get(id);
    if (first === undefined) {
      firstIndex.set(id, index);
      return [];
    }
    return [
      {
        path: `products[${index}].id_product`,
        code: "duplicate" as const,
        message: `product ${id} is already ordered in products[${first}]; send one line per product`,
      },
    ];
  });
};

const bodyOrIssues = (body: unknown): E.Either<ReadonlyArray<Issue>, PlaceOrderCommand> => {
  const decoded = decodeWith(PlaceOrderBody)(body);
  const duplicates = duplicateLines(body);
  if (E.isLeft(decoded) || duplicates.length > 0) return E.left([...(E.isLeft(decoded) ? decoded.left : []), ...duplicates]);
  return E.right({
    clientId: decoded.right.id_client,
    lines: pipe(
      decoded.right.products,
      RNEA.map((line): OrderLine => ({ productId: line.id_product, quantity: line.quantity })),
    ),
  });
};

/** The parsed JSON body as the domain's command (domain names), or every problem at once. */
export const decodePlaceOrderBody = (body: unknown): E.Either<DomainError, PlaceOrderCommand> =>
  E.mapLeft(validationFailed)(bodyOrIssues(body));

const MAX_KEY_LENGTH = 255;

/** Optional `Idempotency-Key`: 1 to 255 visible ASCII characters. */
const idempotencyKey = (event: Pick<APIGatewayProxyEvent, "headers">): E.Either<Issue, O.Option<string>> => {
  const key = header(event, "idempotency-key");
  if (key === undefined) return E.right(O.none);
  return /^[\x21-\x7e]+$/.test(key) && key.length <= MAX_KEY_LENGTH
    ? E.right(O.some(key))
    : E.left({
        path: "headers.Idempotency-Key",
        code: key.length > MAX_KEY_LENGTH ? "out_of_range" : "invalid_type",
        message: `expected 1 to ${MAX_KEY_LENGTH} visible ASCII characters`,
      });
};

/**
 * The HTTP request as the use case's typed input, decoded once: the envelope (media type,
 * size, JSON), then the body and the Idempotency-Key together, so a bad key does not hide
 * the body's problems (every problem is listed at once, the key's last).
 */
export const decodePlaceOrderRequest = (
  event: Pick<APIGatewayProxyEvent, "headers" | "body" | "isBase64Encoded">,
): E.Either<HttpError, PlaceOrderInput> => {
  const body = jsonBody(event);
  if (E.isLeft(body)) return body;
  const command = bodyOrIssues(body.right);
  const key = idempotencyKey(event);
  if (E.isLeft(command) || E.isLeft(key)) {
    return E.left(validationFailed([...(E.isLeft(command) ? command.left : []), ...(E.isLeft(key) ? [key.left] : [])]));
  }
  return E.right({ command: command.right, idempotencyKey: key.right });
};

// ---- the handler ----

export const makePlaceOrderHandler =
  (deps: () => Promise<PlaceOrderDeps>) =>
  async (event: APIGatewayProxyEvent, context?: Pick<Context, "awsRequestId">): Promise<APIGatewayProxyResult> => {
    const requestId = requestIdOf(event, context);
    const input = decodePlaceOrderRequest(event);
    if (E.isLeft(input)) return errorResponse(input.left, requestId);

    let result: Awaited<ReturnType<ReturnType<ReturnType<typeof placeOrder>>>>;
    try {
      result = await placeOrder(await deps())(input.right)();
    } catch (cause) {
      return errorResponse({ code: "Unavailable", operation: "place order", cause }, requestId);
    }
    if (E.isLeft(result)) return errorResponse(result.left, requestId);
    const order = result.right;
    return jsonResponse(
      200,
      {
        statusCode: 200,
        body: "Order created successfully!",
        order_id: order.orderId,
        id_client: order.clientId,
        total: centsToUnits(order.totalCents),
        placed_at: order.placedAt,
      },
      order.replayed ? { "idempotent-replayed": "true" } : {},
    );
  };

/** The use case bound to a database, with the system clock and random UUIDs. */
export const placeOrderDeps = (db: Kysely<Database>, faults?: OrderStoreFaults): PlaceOrderDeps => ({
  orders: createOrderStore(db, faults),
  clock: { now: () => new Date() },
  ids: { uuid: () => randomUUID() as Uuid },
});

/**
 * Lambda entry point (API Gateway REST proxy integration, POST /orders). A bad database
 * configuration fails the cold start; a database that cannot be reached is a 503 per request.
 */
export const handler = configuredEntry([databaseSettings], makePlaceOrderHandler(async () => placeOrderDeps(await sharedDb())));

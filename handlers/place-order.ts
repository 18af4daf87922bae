import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import * as E from "fp-ts/Either";
import * as O from "fp-ts/Option";
import type { Kysely } from "kysely";
import { createOrderStore, type OrderStoreFaults } from "../adapters/postgres/order-store.kysely";
import type { Database } from "../adapters/postgres/schema";
import { type Issue, validationFailed } from "../domain/errors";
import { decodePlaceOrder } from "../domain/order";
import { centsToUnits } from "../domain/money";
import type { Uuid } from "../domain/outbox-event";
import { placeOrder, type PlaceOrderDeps } from "../domain/place-order";
import { sharedDb } from "./support/database";
import { errorResponse, requestIdOf, header, jsonBody, jsonResponse } from "./support/http";

const MAX_KEY_LENGTH = 255;

/** Optional `Idempotency-Key`: 1 to 255 visible ASCII characters. */
const idempotencyKey = (event: APIGatewayProxyEvent): E.Either<Issue, O.Option<string>> => {
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

/** The body's own problems, so a bad key does not hide them (every problem is listed at once). */
const bodyIssues = (body: unknown): ReadonlyArray<Issue> => {
  const decoded = decodePlaceOrder(body);
  return E.isLeft(decoded) && decoded.left.code === "ValidationFailed" ? decoded.left.issues : [];
};

export const makePlaceOrderHandler =
  (deps: () => Promise<PlaceOrderDeps>) =>
  async (event: APIGatewayProxyEvent, context?: Pick<Context, "awsRequestId">): Promise<APIGatewayProxyResult> => {
    const requestId = requestIdOf(event, context);
    const body = jsonBody(event);
    if (E.isLeft(body)) return errorResponse(body.left, requestId);
    const key = idempotencyKey(event);
    if (E.isLeft(key)) return errorResponse(validationFailed([...bodyIssues(body.right), key.left]), requestId);

    let result: Awaited<ReturnType<ReturnType<ReturnType<typeof placeOrder>>>>;
    try {
      result = await placeOrder(await deps())({ body: body.right, idempotencyKey: key.right })();
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

/** Lambda entry point (API Gateway REST proxy integration, POST /orders). */
export const handler = makePlaceOrderHandler(async () => placeOrderDeps(await sharedDb()));

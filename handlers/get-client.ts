import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import * as E from "fp-ts/Either";
import * as O from "fp-ts/Option";
import { createClientViewStore } from "../adapters/redis/client-view-store.redis";
import { viewToResponse } from "../domain/client-view";
import { clientNotFound, validationFailed } from "../domain/errors";
import { MAX_ID } from "../domain/order";
import type { ClientViewStore } from "../domain/ports";
import { errorResponse, requestIdOf, jsonResponse } from "./support/http";
import { sharedRedis } from "./support/redis";

export interface GetClientDeps {
  readonly views: ClientViewStore;
}

const clientIdOf = (event: APIGatewayProxyEvent) => {
  const raw = event.pathParameters?.id_client ?? "";
  const id = /^[1-9][0-9]{0,9}$/.test(raw) ? Number(raw) : NaN;
  return Number.isInteger(id) && id <= MAX_ID
    ? E.right(id)
    : E.left(
        validationFailed([
          {
            path: "id_client",
            code: /^\d+$/.test(raw) ? "out_of_range" : "invalid_type",
            message: `expected a client id from 1 to ${MAX_ID}, got "${raw}"`,
          },
        ]),
      );
};

/**
 * GET /clients/{id_client}: the read model's view, in the original sample's shape. While the
 * read model has no generation (wiped, or being rebuilt) it answers 503 ReadModelUnavailable
 * with Retry-After rather than a 404 that would claim the client has no orders.
 */
export const makeGetClientHandler =
  (deps: () => Promise<GetClientDeps>) =>
  async (event: APIGatewayProxyEvent, context?: Pick<Context, "awsRequestId">): Promise<APIGatewayProxyResult> => {
    const requestId = requestIdOf(event, context);
    const clientId = clientIdOf(event);
    if (E.isLeft(clientId)) return errorResponse(clientId.left, requestId);
    let view;
    try {
      view = await (await deps()).views.get(clientId.right)();
    } catch (cause) {
      return errorResponse({ code: "Unavailable", operation: "read client view", cause }, requestId);
    }
    if (E.isLeft(view)) return errorResponse(view.left, requestId);
    return O.isSome(view.right)
      ? jsonResponse(200, viewToResponse(view.right.value))
      : errorResponse(clientNotFound(clientId.right), requestId);
  };

/** Lambda entry point (API Gateway REST proxy integration, GET /clients/{id_client}). */
export const handler = makeGetClientHandler(async () => ({ views: createClientViewStore(await sharedRedis()) }));

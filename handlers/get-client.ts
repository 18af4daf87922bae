import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import * as E from "fp-ts/Either";
import { pipe } from "fp-ts/function";
import * as O from "fp-ts/Option";
import { createClientViewStore } from "../adapters/redis/client-view-store.redis";
import { viewToResponse } from "../domain/client-view";
import { clientNotFound, type DomainError, validationFailed } from "../domain/errors";
import { type ClientId, ClientIdCodec, MAX_ID } from "../domain/order";
import type { ClientViewStore } from "../domain/ports";
import { decodeWith } from "../domain/validation";
import { errorResponse, requestIdOf, jsonResponse } from "./support/http";
import { configuredEntry } from "./support/configuration";
import { redisSettings, sharedRedis } from "./support/redis";

export interface GetClientDeps {
  readonly views: ClientViewStore;
}

/**
 * The `{id_client}` path parameter as a client id: canonical decimal text (no sign, no
 * fraction, no leading zero), then the domain's client-id rule for the range.
 */
export const decodeClientIdParam = (raw: string): E.Either<DomainError, ClientId> => {
  const message = `expected a client id from 1 to ${MAX_ID}, got "${raw}"`;
  if (!/^(0|[1-9][0-9]*)$/.test(raw)) {
    // All digits but with a leading zero is a number, just not one we accept.
    return E.left(validationFailed([{ path: "id_client", code: /^\d+$/.test(raw) ? "out_of_range" : "invalid_type", message }]));
  }
  return pipe(
    decodeWith(ClientIdCodec)(Number(raw)),
    E.mapLeft((issues) => validationFailed(issues.map((issue) => ({ path: "id_client", code: issue.code, message })))),
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
    const clientId = decodeClientIdParam(event.pathParameters?.id_client ?? "");
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

/**
 * Lambda entry point (API Gateway REST proxy integration, GET /clients/{id_client}). A bad
 * Redis configuration fails the cold start; a Redis that cannot be reached is a 503 per request.
 */
export const handler = configuredEntry(
  [redisSettings],
  makeGetClientHandler(async () => ({ views: createClientViewStore(await sharedRedis()) })),
);

import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import * as E from "fp-ts/Either";
import { isConnectivityError } from "../../adapters/connectivity";
import type { DomainError, Issue } from "../../domain/errors";
import { asError, logger } from "./logger";

/** Failures of the HTTP envelope itself, before the domain sees the request. */
export type RequestError =
  | { readonly code: "MalformedJson"; readonly detail: string }
  | { readonly code: "PayloadTooLarge"; readonly limitBytes: number; readonly actualBytes: number }
  | { readonly code: "UnsupportedMediaType"; readonly contentType: string };

export type HttpError = DomainError | RequestError;

export const MAX_BODY_BYTES = 64 * 1024;

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

/** Every response, success or error, has the original sample's `statusCode`/`body` fields. */
export const jsonResponse = (
  statusCode: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): APIGatewayProxyResult => ({
  statusCode,
  headers: { ...JSON_HEADERS, ...headers },
  body: JSON.stringify(body),
});

const problem = (
  statusCode: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) => jsonResponse(statusCode, { statusCode, body: message, code, ...extra }, headers);

/** Both 503s are short: a rebuild takes seconds, a reconnect or failover about as long. */
const RETRY_SOON = { "retry-after": "1" };

const describeIssues = (issues: ReadonlyArray<Issue>): string =>
  `Invalid request: ${issues.length} problem${issues.length === 1 ? "" : "s"}`;

/** The one place where failures become HTTP statuses. */
export const errorResponse = (error: HttpError, requestId: string): APIGatewayProxyResult => {
  switch (error.code) {
    case "ValidationFailed":
      return problem(400, error.code, describeIssues(error.issues), { issues: error.issues });
    case "MalformedJson":
      return problem(400, error.code, `Malformed JSON body: ${error.detail}`);
    case "ClientNotFound":
      return problem(404, error.code, "Client not found", { clientId: error.clientId });
    case "ProductNotFound":
      return problem(404, error.code, `Product not found: ${error.productIds.join(", ")}`, { productIds: error.productIds });
    case "PayloadTooLarge":
      return problem(413, error.code, `Body too large: ${error.actualBytes} bytes, at most ${error.limitBytes}`);
    case "UnsupportedMediaType":
      return problem(415, error.code, `Unsupported content type ${error.contentType}: send application/json`);
    case "DuplicateRequest":
      return problem(422, error.code, "This Idempotency-Key was already used with a different request", {
        idempotencyKey: error.idempotencyKey,
      });
    case "ReadModelUnavailable":
      // `code` is the field the read model's alarm counts.
      logger.warn("read model has no generation; asked the caller to retry", { code: error.code, requestId });
      return problem(503, error.code, "The read model is being rebuilt; retry shortly", {}, RETRY_SOON);
    case "Unavailable":
      // A dependency that cannot be reached (database down or failing over, Redis away) is
      // worth a retry; anything else is a bug, and retrying it would only repeat it.
      if (isConnectivityError(error.cause)) {
        logger.warn("dependency unreachable", { operation: error.operation, error: asError(error.cause, `${error.operation} failed`), requestId });
        return problem(503, error.code, "Service unavailable; retry shortly", { requestId }, RETRY_SOON);
      }
      logger.error("request failed", { operation: error.operation, error: asError(error.cause, `${error.operation} failed`), requestId });
      return problem(500, "InternalError", "Internal error", { requestId });
  }
};

/** The id a caller can quote: Lambda's, else API Gateway's, else a fresh one (local calls). */
export const requestIdOf = (event: Pick<APIGatewayProxyEvent, "requestContext">, context?: { awsRequestId?: string }): string =>
  context?.awsRequestId ?? event.requestContext?.requestId ?? randomUUID();

export const header = (event: Pick<APIGatewayProxyEvent, "headers">, name: string): string | undefined => {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
};

const isJsonMediaType = (contentType: string): boolean => {
  const mediaType = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return mediaType === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
};

/**
 * The JSON body of a request: base64 bodies decoded, size bounded, media type checked. A
 * request without a Content-Type is read as JSON (API Gateway test consoles send none).
 */
export const jsonBody = (
  event: Pick<APIGatewayProxyEvent, "headers" | "body" | "isBase64Encoded">,
): E.Either<RequestError, unknown> => {
  const contentType = header(event, "content-type");
  if (contentType !== undefined && !isJsonMediaType(contentType)) return E.left({ code: "UnsupportedMediaType", contentType });
  const raw = event.body ?? "";
  const bytes = event.isBase64Encoded ? Buffer.from(raw, "base64") : Buffer.from(raw, "utf8");
  if (bytes.length > MAX_BODY_BYTES) {
    return E.left({ code: "PayloadTooLarge", limitBytes: MAX_BODY_BYTES, actualBytes: bytes.length });
  }
  const text = bytes.toString("utf8");
  if (text.trim() === "") return E.left({ code: "MalformedJson", detail: "the body is empty" });
  try {
    return E.right(JSON.parse(text) as unknown);
  } catch (error) {
    return E.left({ code: "MalformedJson", detail: error instanceof Error ? error.message : String(error) });
  }
};

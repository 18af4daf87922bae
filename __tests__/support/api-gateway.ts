import type { APIGatewayProxyEvent } from "aws-lambda";
import sample from "../fixtures/aws-events/apigw-rest-proxy-post.json";

export interface RequestSpec {
  readonly method: "GET" | "POST";
  readonly resource: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  readonly pathParameters?: Record<string, string> | null;
}

/**
 * An API Gateway REST (v1) proxy event built on a real captured one, so every field a
 * handler might read has its real shape; only the request itself is replaced.
 */
export const apiGatewayEvent = (spec: RequestSpec): APIGatewayProxyEvent => {
  const headers = spec.headers ?? { "Content-Type": "application/json" };
  return {
    ...(sample as unknown as APIGatewayProxyEvent),
    resource: spec.resource,
    path: spec.path,
    httpMethod: spec.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: spec.pathParameters ?? null,
    body: spec.body ?? null,
    isBase64Encoded: spec.isBase64Encoded ?? false,
    requestContext: {
      ...(sample as unknown as APIGatewayProxyEvent).requestContext,
      resourcePath: spec.resource,
      httpMethod: spec.method,
      path: `/prod${spec.path}`,
    },
  };
};

export const postOrder = (body: unknown, headers: Record<string, string> = {}): APIGatewayProxyEvent =>
  apiGatewayEvent({
    method: "POST",
    resource: "/orders",
    path: "/orders",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type {
  APIGatewayAuthorizerResult,
  APIGatewayEventIdentity,
  APIGatewayEventRequestContextWithAuthorizer,
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  APIGatewayRequestAuthorizerEvent,
} from "aws-lambda";

export type ProxyHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
export type Authorizer = (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

export interface Route {
  readonly method: "GET" | "POST";
  /** API Gateway resource path, e.g. `/clients/{id_client}`. */
  readonly resource: string;
  readonly handler: ProxyHandler;
}

/** The runtime's own endpoints (`/_local/...`), outside API Gateway's emulation. */
export interface LocalRoute {
  readonly method: "GET" | "POST";
  /** A path below `/_local/`, with `{name}` parameters. */
  readonly path: string;
  /** Whether the caller must pass the API's Basic credentials (through the same authorizer). */
  readonly authenticated: boolean;
  readonly handler: (parameters: Readonly<Record<string, string>>) => Promise<{ readonly status: number; readonly body: unknown }>;
}

export interface GatewayOptions {
  readonly routes: ReadonlyArray<Route>;
  readonly localRoutes?: ReadonlyArray<LocalRoute>;
  readonly authorizer: Authorizer;
  readonly host: string;
  readonly port: number;
  readonly stage?: string;
  /** How long a verdict of the authorizer holds for one Authorization header (API Gateway's cache); 0: never kept. */
  readonly authorizerTtlMs?: number;
}

/** API Gateway refuses payloads over 10 MB; we stop reading far earlier (the handler's limit is 64 KiB). */
const MAX_READ_BYTES = 1024 * 1024;

/** A route's resource path as a pattern, made once: `{name}` segments become captures. */
const compile = <R extends { readonly method: string; readonly resource: string }>(route: R) => {
  const names: string[] = [];
  const pattern = new RegExp(`^${route.resource.replace(/\{([^}]+)\}/g, (_, name: string) => (names.push(name), "([^/]+)"))}/?$`);
  return { route, names, pattern };
};

const matcher = <R extends { readonly method: string; readonly resource: string }>(routes: ReadonlyArray<R>) => {
  const compiled = routes.map(compile);
  return (method: string, path: string) => {
    for (const { route, names, pattern } of compiled) {
      if (route.method !== method) continue;
      const match = pattern.exec(path);
      if (match) {
        return { route, pathParameters: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(match[i + 1] ?? "")])) };
      }
    }
    return undefined;
  };
};

/** Most Authorization headers whose verdict is kept: beyond that the cache starts afresh. */
const MAX_CACHED_VERDICTS = 1_000;

/** The invoke URL of a deployed stage ends in `/prod`: accept the seed's URLs unchanged. */
const withoutStage = (path: string, stage: string): string =>
  path === `/${stage}` ? "/" : path.startsWith(`/${stage}/`) ? path.slice(stage.length + 1) : path;

/** The caller as API Gateway describes it: no IAM, Cognito or API key behind a Basic-auth API. */
const identityOf = (req: IncomingMessage): APIGatewayEventIdentity => ({
  accessKey: null,
  accountId: null,
  apiKey: null,
  apiKeyId: null,
  caller: null,
  clientCert: null,
  cognitoAuthenticationProvider: null,
  cognitoAuthenticationType: null,
  cognitoIdentityId: null,
  cognitoIdentityPoolId: null,
  principalOrgId: null,
  sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
  user: null,
  userAgent: req.headers["user-agent"] ?? null,
  userArn: null,
});

const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(body);
};

const readBody = (req: IncomingMessage): Promise<Buffer | "too-large"> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_READ_BYTES) {
        resolve("too-large");
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });

/**
 * The API Gateway REST API, in the process: real HTTP in, the same proxy events out, the
 * same Lambda authorizer first. Answers like API Gateway where it answers itself: 401
 * without credentials, 403 on a Deny, 403 "Missing Authentication Token" for unknown routes.
 */
export interface Gateway {
  readonly server: Server;
  readonly url: string;
  /** Takes no new connection, closes the idle ones, and ends each busy one after its answer. */
  close(): Promise<void>;
}

export const startGateway = (options: GatewayOptions): Promise<Gateway> => {
  const stage = options.stage ?? "prod";
  const matchApiRoute = matcher(options.routes);
  const matchLocalRoute = matcher((options.localRoutes ?? []).map((route) => ({ method: route.method, resource: `/_local/${route.path}`, route })));
  // API Gateway keeps an authorizer's policy (Allow or Deny) per Authorization header for the
  // TTL and asks again after; the policy covers the whole stage, so any route may reuse it.
  // A header-less request never reaches the authorizer, and a failure (401) is not kept.
  const ttlMs = options.authorizerTtlMs ?? 0;
  const verdicts = new Map<string, { readonly verdict: { principalId: string } | 403; readonly until: number }>();
  let closing = false;
  const server = createServer(async (req, res) => {
    const requestId = randomUUID();
    // Once closing, every answer ends its connection, so a client keeping one alive does not
    // hold the stop until its keep-alive timeout.
    const reply = (status: number, body: string, headers: Record<string, string> = {}) =>
      send(res, status, body, closing ? { ...headers, connection: "close" } : headers);
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      const path = withoutStage(url.pathname, stage);
      const method = req.method ?? "GET";
      /** The request context API Gateway gives the authorizer (without one) and the integration (with the principal). */
      const requestContext = <A>(resource: string, authorizer: A): APIGatewayEventRequestContextWithAuthorizer<A> => ({
        accountId: "000000000000",
        apiId: "local",
        authorizer,
        protocol: "HTTP/1.1",
        httpMethod: method,
        identity: identityOf(req),
        path: `/${stage}${path}`,
        stage,
        requestId,
        requestTimeEpoch: Date.now(),
        resourceId: "local",
        resourcePath: resource,
      });
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(",") : (value ?? "")]),
      );
      /** The authorizer's verdict: the principal on Allow, else the status API Gateway answers. */
      const authorize = async (resource: string, pathParameters: Record<string, string>): Promise<{ principalId: string } | 401 | 403> => {
        const header = headers.authorization;
        if (header === undefined || header === "") return 401;
        const kept = verdicts.get(header);
        if (kept !== undefined && kept.until > Date.now()) return kept.verdict;
        const verdict = await askAuthorizer(resource, pathParameters);
        if (verdict !== 401 && ttlMs > 0) {
          if (verdicts.size >= MAX_CACHED_VERDICTS) verdicts.clear();
          verdicts.set(header, { verdict, until: Date.now() + ttlMs });
        }
        return verdict;
      };
      const askAuthorizer = async (resource: string, pathParameters: Record<string, string>): Promise<{ principalId: string } | 401 | 403> => {
        let decision: APIGatewayAuthorizerResult;
        try {
          decision = await options.authorizer({
            type: "REQUEST",
            methodArn: `arn:aws:execute-api:local:000000000000:local/${stage}/${method}${resource}`,
            resource,
            path,
            httpMethod: method,
            headers,
            multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
            pathParameters,
            queryStringParameters: Object.fromEntries(url.searchParams),
            multiValueQueryStringParameters: {},
            stageVariables: {},
            requestContext: requestContext(resource, undefined),
          });
        } catch {
          return 401;
        }
        return decision.policyDocument.Statement.some((s) => "Effect" in s && s.Effect === "Allow") ? { principalId: decision.principalId } : 403;
      };
      const refuse = (verdict: 401 | 403) =>
        verdict === 401
          ? reply(401, JSON.stringify({ message: "Unauthorized" }), { "www-authenticate": 'Basic realm="cqrs-outbox"' })
          : reply(403, JSON.stringify({ message: "User is not authorized to access this resource with an explicit deny" }));

      if (path.startsWith("/_local/")) {
        const local = matchLocalRoute(method, path);
        if (local === undefined) return reply(404, JSON.stringify({ message: "no such local endpoint" }));
        const { route } = local.route;
        if (route.authenticated) {
          const verdict = await authorize(local.route.resource, local.pathParameters);
          if (typeof verdict === "number") return refuse(verdict);
        }
        const answer = await route.handler(local.pathParameters);
        return reply(answer.status, JSON.stringify(answer.body));
      }

      const found = matchApiRoute(method, path);
      if (found === undefined) return reply(403, JSON.stringify({ message: "Missing Authentication Token" }));
      const decision = await authorize(found.route.resource, found.pathParameters);
      if (typeof decision === "number") return refuse(decision);
      const body = await readBody(req);
      if (body === "too-large") return reply(413, JSON.stringify({ message: "Request Entity Too Large" }));
      const event: APIGatewayProxyEvent = {
        resource: found.route.resource,
        path,
        httpMethod: method,
        headers,
        multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
        queryStringParameters: url.searchParams.size > 0 ? Object.fromEntries(url.searchParams) : null,
        multiValueQueryStringParameters: null,
        pathParameters: Object.keys(found.pathParameters).length > 0 ? found.pathParameters : null,
        stageVariables: null,
        body: body.length > 0 ? body.toString("utf8") : null,
        isBase64Encoded: false,
        requestContext: requestContext(found.route.resource, { principalId: decision.principalId }),
      };
      const result = await found.route.handler(event);
      reply(result.statusCode, result.body, Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)])));
    } catch (error) {
      console.error(`gateway: request ${requestId} failed:`, error);
      reply(502, JSON.stringify({ message: "Internal server error" }));
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      const address = server.address() as AddressInfo;
      resolve({
        server,
        url: `http://${options.host}:${address.port}`,
        close: () =>
          new Promise<void>((done) => {
            closing = true;
            server.close(() => done());
          }),
      });
    });
  });
};

import { timingSafeEqual } from "node:crypto";
import type {
  APIGatewayAuthorizerResult,
  APIGatewayRequestAuthorizerEvent,
  APIGatewayTokenAuthorizerEvent,
} from "aws-lambda";
import { readJsonSecret } from "../adapters/aws/secrets";
import { readUserSecret } from "../adapters/aws/user-secret";

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export type AuthorizerEvent = APIGatewayTokenAuthorizerEvent | APIGatewayRequestAuthorizerEvent;

/** The Authorization header of a TOKEN or REQUEST event (header names are case-insensitive). */
const authorizationOf = (event: AuthorizerEvent): string | undefined => {
  if (event.type === "TOKEN") return event.authorizationToken;
  const headers = event.headers ?? {};
  const name = Object.keys(headers).find((key) => key.toLowerCase() === "authorization");
  return name === undefined ? undefined : (headers[name] ?? undefined);
};

/**
 * The policy covers every method of the stage, not just the one called: API Gateway caches
 * the result per Authorization header, and a narrower policy would then deny the caller's
 * next, different route.
 */
const stageArn = (methodArn: string): string => {
  // arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<verb>/<path>
  const [api, stage] = methodArn.split("/");
  return `${api}/${stage}/*`;
};

const policy = (effect: "Allow" | "Deny", methodArn: string, principalId: string, apiKey?: string): APIGatewayAuthorizerResult => ({
  principalId,
  policyDocument: {
    Version: "2012-10-17",
    Statement: [{ Action: "execute-api:Invoke", Effect: effect, Resource: stageArn(methodArn) }],
  },
  // With `api_key_source = AUTHORIZER` this names the caller's API key for the usage plan.
  ...(apiKey === undefined ? {} : { usageIdentifierKey: apiKey }),
});

/** Constant-time comparison, so response time says nothing about how much of a secret matched. */
const same = (given: string, expected: string): boolean => {
  const a = Buffer.from(given, "utf8");
  const b = Buffer.from(expected, "utf8");
  // Compare equal lengths either way so a length mismatch costs the same as a content one.
  return timingSafeEqual(a.length === b.length ? a : b, b) && a.length === b.length;
};

const parseBasic = (header: string): { readonly token: string; readonly username: string; readonly password: string } | undefined => {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { token: match[1], username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
};

/**
 * HTTP Basic against the credentials secret. No header: `Unauthorized` (API Gateway answers
 * 401 and asks for credentials); a header that is not these credentials: a Deny policy (403).
 */
export const makeAuthorizer =
  (credentials: () => Promise<Credentials>) =>
  async (event: AuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const header = authorizationOf(event);
    if (header === undefined || header.trim() === "") throw new Error("Unauthorized");
    const basic = parseBasic(header);
    if (basic === undefined) return policy("Deny", event.methodArn, "anonymous");
    const expected = await credentials();
    const userOk = same(basic.username, expected.username);
    const passwordOk = same(basic.password, expected.password);
    return userOk && passwordOk
      ? policy("Allow", event.methodArn, expected.username, basic.token)
      : policy("Deny", event.methodArn, "anonymous");
  };

/** Reads `{ username, password }` from the secret named by CREDENTIALS_SECRET_ARN (cached per container). */
export const credentialsFromSecret =
  (secretArn: string | undefined, read: (id: string) => Promise<Record<string, unknown>> = readJsonSecret) =>
  async (): Promise<Credentials> => {
    if (secretArn === undefined || secretArn === "") throw new Error("CREDENTIALS_SECRET_ARN is not set");
    return readUserSecret(read, secretArn);
  };

export const handler = makeAuthorizer(credentialsFromSecret(process.env.CREDENTIALS_SECRET_ARN));

import { readFileSync } from "node:fs";
import path from "node:path";
import type { APIGatewayRequestAuthorizerEvent, APIGatewayTokenAuthorizerEvent } from "aws-lambda";
import { credentialsFromSecret, makeAuthorizer } from "../../handlers/authorizer";

const fixture = <T>(name: string): T => JSON.parse(readFileSync(path.join(__dirname, "..", "fixtures", "aws-events", name), "utf8")) as T;
const requestEvent = fixture<APIGatewayRequestAuthorizerEvent>("apigw-authorizer-request.json");
const tokenEvent = fixture<APIGatewayTokenAuthorizerEvent>("apigw-authorizer-token.json");
const noHeaderEvent = fixture<APIGatewayRequestAuthorizerEvent>("apigw-authorizer-request-docs-example.json");

const credentials = { username: "admin", password: "s3cretPassw0rd" };
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
const withHeader = (header: string): APIGatewayRequestAuthorizerEvent => ({
  ...requestEvent,
  headers: { ...requestEvent.headers, Authorization: header },
});

describe("authorizer", () => {
  const reads: string[] = [];
  const authorize = makeAuthorizer(credentialsFromSecret("arn:secret", async (id) => (reads.push(id), credentials)));

  it("allows the right credentials on every method of the stage, naming the API key for the usage plan", async () => {
    const token = Buffer.from("admin:s3cretPassw0rd").toString("base64");
    const result = await authorize({ ...withHeader(basic("admin", "s3cretPassw0rd")), headers: { authorization: `Basic ${token}` } });
    expect(result).toEqual({
      principalId: "admin",
      policyDocument: {
        Version: "2012-10-17",
        Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: "arn:aws:execute-api:eu-west-1:123456789012:puhdx84jy9/prod/*" }],
      },
      usageIdentifierKey: token,
    });
    expect(reads).toEqual(["arn:secret"]);
  });

  it("allows a TOKEN event too", async () => {
    const result = await authorize({ ...tokenEvent, authorizationToken: basic("admin", "s3cretPassw0rd") });
    expect(result.policyDocument.Statement[0]).toEqual(expect.objectContaining({ Effect: "Allow" }));
  });

  it.each([
    ["a bearer token (the fixture's own header)", requestEvent],
    ["a wrong password", withHeader(basic("admin", "wrong"))],
    ["a wrong user", withHeader(basic("root", "s3cretPassw0rd"))],
    ["a password one character longer", withHeader(basic("admin", "s3cretPassw0rd!"))],
    ["no colon", withHeader(`Basic ${Buffer.from("admin").toString("base64")}`)],
  ])("denies %s (403)", async (_what, event) => {
    const result = await authorize(event);
    expect(result).toEqual(expect.objectContaining({ principalId: "anonymous" }));
    expect(result.policyDocument.Statement).toEqual([expect.objectContaining({ Effect: "Deny" })]);
    expect(result.usageIdentifierKey).toBeUndefined();
  });

  it("denies the TOKEN fixture's bearer token", async () => {
    expect((await authorize(tokenEvent)).policyDocument.Statement[0]).toEqual(expect.objectContaining({ Effect: "Deny" }));
  });

  it("answers Unauthorized (401) when there is no Authorization header", async () => {
    await expect(authorize(noHeaderEvent)).rejects.toThrow(/^Unauthorized$/);
    await expect(authorize({ ...tokenEvent, authorizationToken: "" })).rejects.toThrow(/^Unauthorized$/);
  });

  it("fails loudly when the secret is missing or malformed", async () => {
    await expect(credentialsFromSecret(undefined)()).rejects.toThrow(/CREDENTIALS_SECRET_ARN/);
    await expect(credentialsFromSecret("arn:x", async () => ({ username: "a" }))()).rejects.toThrow(/username and password/);
  });
});

import type { Server } from "node:http";
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from "aws-lambda";
import { startGateway } from "../../local/gateway";

const policy = (effect: "Allow" | "Deny"): APIGatewayAuthorizerResult => ({
  principalId: effect === "Allow" ? "bench" : "anonymous",
  policyDocument: { Version: "2012-10-17", Statement: [{ Action: "execute-api:Invoke", Effect: effect, Resource: "*" }] },
});

describe("the local gateway keeps the authorizer's verdict per Authorization header, as API Gateway does", () => {
  let server: Server;
  let url: string;
  const asked: string[] = [];
  const start = async (ttlMs: number) => {
    asked.length = 0;
    const started = await startGateway({
      host: "127.0.0.1",
      port: 0,
      authorizerTtlMs: ttlMs,
      authorizer: async (event: APIGatewayRequestAuthorizerEvent) => {
        const header = event.headers?.authorization ?? "";
        asked.push(header);
        if (header === "throws") throw new Error("Unauthorized");
        return policy(header === "good" ? "Allow" : "Deny");
      },
      routes: [
        { method: "GET", resource: "/clients/{id_client}", handler: async (e) => ({ statusCode: 200, body: JSON.stringify(e.pathParameters) }) },
        { method: "POST", resource: "/orders", handler: async () => ({ statusCode: 200, body: "{}" }) },
      ],
    });
    server = started.server;
    url = started.url;
  };
  afterEach(() => new Promise<void>((done) => server.close(() => done())));

  const status = async (path: string, authorization?: string, method = "GET") =>
    (await fetch(`${url}${path}`, { method, headers: authorization === undefined ? {} : { authorization } })).status;

  it("asks once per header within the TTL, for every route of the stage, Allow and Deny alike", async () => {
    await start(60_000);
    expect(await status("/clients/1", "good")).toBe(200);
    expect(await status("/clients/2", "good")).toBe(200);
    expect(await status("/orders", "good", "POST")).toBe(200);
    expect(await status("/clients/1", "bad")).toBe(403);
    expect(await status("/clients/1", "bad")).toBe(403);
    expect(asked).toEqual(["good", "bad"]);
  });

  it("never asks without a header, and keeps no failure", async () => {
    await start(60_000);
    expect(await status("/clients/1")).toBe(401);
    expect(await status("/clients/1", "throws")).toBe(401);
    expect(await status("/clients/1", "throws")).toBe(401);
    expect(asked).toEqual(["throws", "throws"]);
  });

  it("asks again once the TTL is over, and every time with a TTL of 0", async () => {
    await start(30);
    expect(await status("/clients/1", "good")).toBe(200);
    await new Promise((done) => setTimeout(done, 60));
    expect(await status("/clients/1", "good")).toBe(200);
    expect(asked).toEqual(["good", "good"]);
    await new Promise<void>((done) => server.close(() => done()));
    await start(0);
    expect(await status("/clients/1", "good")).toBe(200);
    expect(await status("/clients/1", "good")).toBe(200);
    expect(asked).toEqual(["good", "good"]);
  });
});

import { Agent, request } from "node:http";
import type { APIGatewayAuthorizerResult } from "aws-lambda";
import { startGateway } from "../../local/gateway";

const allow: APIGatewayAuthorizerResult = {
  principalId: "client",
  policyDocument: { Version: "2012-10-17", Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: "*" }] },
};

/** One GET on a kept-alive connection: its status and its Connection header. */
const get = (agent: Agent, url: string): Promise<{ status: number; connection: string | undefined }> =>
  new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { authorization: "any" } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    });
    req.on("error", reject);
    req.end();
  });

describe("closing the local gateway", () => {
  it("ends a busy kept-alive connection after its answer, instead of waiting for the client to leave", async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((done) => (release = done));
    let entered: () => void = () => undefined;
    const inside = new Promise<void>((done) => (entered = done));
    const gateway = await startGateway({
      host: "127.0.0.1",
      port: 0,
      authorizer: async () => allow,
      routes: [
        {
          method: "GET",
          resource: "/clients/{id_client}",
          handler: async (event) => {
            if (event.pathParameters?.id_client === "2") {
              entered();
              await held;
            }
            return { statusCode: 200, body: "{}" };
          },
        },
      ],
    });
    // A keep-alive timeout longer than the test: only the gateway's own close can end the connection.
    gateway.server.keepAliveTimeout = 600_000;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await get(agent, `${gateway.url}/clients/1`);
      expect(before).toEqual({ status: 200, connection: "keep-alive" });

      const busy = get(agent, `${gateway.url}/clients/2`);
      await inside;
      let closed = false;
      const closing = gateway.close().then(() => void (closed = true));
      await new Promise((done) => setImmediate(done));
      expect(closed).toBe(false);
      release();

      expect(await busy).toEqual({ status: 200, connection: "close" });
      await closing;
      expect(closed).toBe(true);
    } finally {
      agent.destroy();
      gateway.server.closeAllConnections();
    }
  });
});

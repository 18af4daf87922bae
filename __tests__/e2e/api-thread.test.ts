import { randomBytes } from "node:crypto";
import type { Worker } from "node:worker_threads";
import { migrateAndSeed } from "../../handlers/migrate";
import { type ApiThread, startApiThread } from "../../local/api-thread";
import { freshDatabase, type TestDatabase } from "../support/database";

let database: TestDatabase;
let api: ApiThread | undefined;
const threads: Worker[] = [];
const logged: string[] = [];
const auth = `Basic ${Buffer.from("admin:s3cret").toString("base64")}`;

beforeAll(async () => {
  database = await freshDatabase(2);
  await migrateAndSeed(database.db);
  api = await startApiThread({
    databaseUrl: database.url,
    redisUrl: process.env.REDIS_URL as string,
    redisKeyPrefix: `api${randomBytes(4).toString("hex")}:`,
    host: "127.0.0.1",
    port: 0,
    credentials: { username: "admin", password: "s3cret" },
    authorizerTtlMs: 60_000,
    log: (message) => logged.push(message),
    onThread: (thread) => threads.push(thread),
    localRoutes: [{ method: "GET", path: "health", authenticated: false, handler: async () => ({ status: 200, body: { from: "main thread" } }) }],
  });
});

afterAll(async () => {
  await api?.stop();
  await database.drop();
});

const order = (url: string) =>
  fetch(`${url}/orders`, {
    method: "POST",
    headers: { authorization: auth, "content-type": "application/json", "idempotency-key": randomBytes(8).toString("hex") },
    body: JSON.stringify({ id_client: 1, products: [{ id_product: 1, quantity: 1 }] }),
  });

describe("the HTTP API's own thread", () => {
  it("takes orders, and answers /_local routes from the main thread", async () => {
    const url = api?.url as string;
    expect((await order(url)).status).toBe(200);
    expect(await (await fetch(`${url}/_local/health`)).json()).toEqual({ from: "main thread" });
  });

  it("is started again on the same port when it ends, and takes orders again", async () => {
    const url = api?.url as string;
    const before = await database.counts();
    await threads[0]?.terminate();
    const deadline = Date.now() + 20_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = await order(url).then((r) => r.status, () => 0);
      if (status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
    expect(threads).toHaveLength(2);
    expect(logged.join("\n")).toMatch(/the API thread ended \(exit code \d+\): starting it again on port \d+/);
    expect((await database.counts()).order).toBeGreaterThan(before.order);
  });

  it("starts no thread after a stop that came while it was waiting to start one", async () => {
    const url = api?.url as string;
    const before = threads.length;
    await threads[threads.length - 1]?.terminate();
    await api?.stop();
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(threads).toHaveLength(before);
    expect(await order(url).then((r) => r.status, () => "refused")).toBe("refused");
  });
});

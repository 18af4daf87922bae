// The HTTP API's own thread (see api-thread.ts): the local API Gateway, the authorizer, and
// the place-order and get-client handlers, with a pool and a Redis connection of their own.
// On AWS these are Lambdas of their own; here they get a core of their own, so orders are
// taken while the main thread tails the log and projects.
import { parentPort, workerData } from "node:worker_threads";
import { createDb, createPool } from "../adapters/postgres/pool";
import { createClientViewStore } from "../adapters/redis/client-view-store.redis";
import { connectRedis } from "../adapters/redis/connection";
import { makeAuthorizer } from "../handlers/authorizer";
import { makeGetClientHandler } from "../handlers/get-client";
import { makePlaceOrderHandler, placeOrderDeps } from "../handlers/place-order";
import type { ApiWorkerData, FromApiWorker, ToApiWorker } from "./api-thread";
import { startGateway } from "./gateway";

const port = parentPort;
if (port === null) throw new Error("local/api-worker.ts runs as a worker thread (see api-thread.ts)");
const data = workerData as ApiWorkerData;
const post = (message: FromApiWorker) => port.postMessage(message);
const log = (message: string) => post({ type: "log", message });

// Nothing may end the thread unnoticed: the main thread starts a new one if it does end.
process.on("unhandledRejection", (reason: unknown) => log(`API: unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`));

const start = async () => {
  let stopping = false;
  const db = createDb(
    createPool({
      connectionString: data.databaseUrl,
      max: 10,
      applicationName: "cqrs-outbox-local",
      onIdleError: (error) => stopping || log(`PostgreSQL connection lost (API): ${error.message}`),
    }),
  );
  const redis = await connectRedis({ kind: "url", url: data.redisUrl, keyPrefix: data.redisKeyPrefix });
  // The main thread reports Redis's state; here an error only fails the request that met it.
  redis.on("error", () => undefined);
  const views = createClientViewStore(redis);

  // Local routes run on the main thread, which holds what they report on.
  const answers = new Map<number, (answer: { status: number; body: unknown }) => void>();
  let nextCall = 0;
  const callMain = (path: string, parameters: Readonly<Record<string, string>>) =>
    new Promise<{ status: number; body: unknown }>((resolve) => {
      const id = nextCall++;
      answers.set(id, resolve);
      post({ type: "local", id, path, parameters });
    });

  const placeOrder = makePlaceOrderHandler(async () => placeOrderDeps(db));
  const getClient = makeGetClientHandler(async () => ({ views }));
  const gateway = await startGateway({
    host: data.host,
    port: data.port,
    authorizer: makeAuthorizer(async () => data.credentials),
    authorizerTtlMs: data.authorizerTtlMs,
    routes: [
      { method: "POST", resource: "/orders", handler: (event) => placeOrder(event) },
      { method: "GET", resource: "/clients/{id_client}", handler: (event) => getClient(event) },
    ],
    localRoutes: data.localRoutes.map((route) => ({ ...route, handler: (parameters) => callMain(route.path, parameters) })),
  });

  port.on("message", (message: ToApiWorker) => {
    if (message.type === "answer") {
      answers.get(message.id)?.({ status: message.status, body: message.body });
      answers.delete(message.id);
      return;
    }
    stopping = true;
    void gateway.close().then(() => {
      void Promise.allSettled([db.destroy(), Promise.resolve(redis.disconnect())]).then(() => process.exit(0));
    });
  });
  post({ type: "listening", url: gateway.url });
};

start().catch((error: unknown) => {
  post({ type: "failed", error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});

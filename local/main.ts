// `npm start`: the whole system on this machine. Embedded PostgreSQL 16 (data kept in
// .local-data/ between runs), a fresh redis-server, the log tailer, the pipe/topic/queues
// and the HTTP API on http://127.0.0.1:3000 (PORT to change it).
import { resolve } from "node:path";
import { startLocalRuntime } from "./runtime";

const main = async (): Promise<void> => {
  const port = Number(process.env.PORT ?? "3000");
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT is not a port: ${process.env.PORT}`);
  const user = process.env.API_USER;
  const password = process.env.API_PASSWORD;
  if ((user === undefined) !== (password === undefined)) throw new Error("set both API_USER and API_PASSWORD, or neither");
  const started = Date.now();
  const log = (message: string) => console.log(`[local] ${message}`);
  log("starting PostgreSQL, Redis, the log tailer, the fan-out and the API ...");
  const runtime = await startLocalRuntime({
    dataDir: resolve(process.env.LOCAL_DATA_DIR ?? ".local-data"),
    ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
    ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
    ...(user !== undefined && password !== undefined ? { credentials: { username: user, password } } : {}),
    port,
    log,
  });
  const { username, password: secret } = runtime.credentials;
  console.log(`
cqrs-outbox is running (${Date.now() - started} ms): ${runtime.url}
credentials: ${username}:${secret}${user === undefined ? "   (generated; set API_USER and API_PASSWORD to choose)" : ""}

  curl -X POST ${runtime.url}/orders -u '${username}:${secret}' -H 'Content-Type: application/json' \\
    -d '{"id_client": 1, "products": [{"id_product": 1, "quantity": 1}, {"id_product": 2, "quantity": 3}]}'
  curl ${runtime.url}/clients/1 -u '${username}:${secret}'

Ctrl-C stops everything.`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping ...`);
    runtime.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
};

main().catch((error: unknown) => {
  console.error(`npm start failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

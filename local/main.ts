// `npm start`: the whole system on this machine. Embedded PostgreSQL 16 and a redis-server
// (data kept in .local-data/ between runs), the log tailer, the pipe/topic/queues and the
// HTTP API on http://127.0.0.1:3000 (PORT to change it).
import "./gc-flags";
import { resolve } from "node:path";
import { startLocalRuntime } from "./runtime";

const log = (message: string) => console.log(`[local] ${message}`);

/** A whole number of milliseconds from the environment, or the default; anything else is refused. */
const millis = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number of milliseconds, got "${raw}"`);
  return value;
};

const main = async (): Promise<void> => {
  const port = Number(process.env.PORT ?? "3000");
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT is not a port: ${process.env.PORT}`);
  const user = process.env.API_USER;
  const password = process.env.API_PASSWORD;
  if ((user === undefined) !== (password === undefined)) throw new Error("set both API_USER and API_PASSWORD, or neither");
  const started = Date.now();
  log("starting PostgreSQL, Redis, the log tailer, the fan-out and the API ...");
  const runtime = await startLocalRuntime({
    dataDir: resolve(process.env.LOCAL_DATA_DIR ?? ".local-data"),
    ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
    ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
    ...(user !== undefined && password !== undefined ? { credentials: { username: user, password } } : {}),
    port,
    retryDelayMs: millis("LOCAL_RETRY_DELAY_MS", 200),
    maxRetryDelayMs: millis("LOCAL_MAX_RETRY_DELAY_MS", 10_000),
    statusIntervalMs: millis("LOCAL_STATUS_INTERVAL_MS", 5_000),
    readModelCheckMs: millis("LOCAL_READ_MODEL_CHECK_MS", 1_000),
    log,
  });
  const { username, password: secret } = runtime.credentials;
  console.log(`
cqrs-outbox is running (${Date.now() - started} ms): ${runtime.url}
health: ${runtime.healthUrl}
credentials: ${username}:${secret}${user === undefined ? "   (generated; set API_USER and API_PASSWORD to choose)" : ""}

  curl -X POST ${runtime.url}/orders -u '${username}:${secret}' -H 'Content-Type: application/json' \\
    -d '{"id_client": 1, "products": [{"id_product": 1, "quantity": 1}, {"id_product": 2, "quantity": 3}]}'
  curl ${runtime.url}/clients/1 -u '${username}:${secret}'

Ctrl-C stops everything; what was not delivered yet is delivered at the next start.`);

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

// Nothing the outside world does may end the process: a stray error from a dropped
// connection is logged, and the runtime recovers (the slot replays what was not done).
process.on("unhandledRejection", (reason: unknown) => log(`unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`));
process.on("uncaughtException", (error: Error) => log(`uncaught exception: ${error.stack ?? error.message}`));

main().catch((error: unknown) => {
  console.error(`npm start failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
